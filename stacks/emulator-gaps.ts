/**
 * Known gaps of the AWS emulator (moto 5.2.1) that would show as drift on a second plan although real AWS keeps the
 * value. Applied only when the pool config targets the emulator; each row says what the emulator gets wrong.
 */
import { Aspects, TerraformResource, type IAspect } from "cdktf";
import type { IConstruct } from "constructs";

interface EmulatorGap {
  readonly resourceType: string;
  readonly ignoreChanges: readonly string[];
  readonly why: string;
}

export const EMULATOR_GAPS: readonly EmulatorGap[] = [
  {
    resourceType: "aws_vpc_endpoint",
    ignoreChanges: ["subnet_configuration"],
    why:
      "moto ignores the SubnetConfigurations of CreateVpcEndpoint and gives each endpoint interface a random address " +
      "(not even inside its subnet), so the pinned addresses read back different on every plan",
  },
  {
    resourceType: "aws_vpc_security_group_ingress_rule",
    ignoreChanges: ["description"],
    why: "moto drops the description of rules that reference a security group or a prefix list",
  },
  {
    resourceType: "aws_vpc_security_group_egress_rule",
    ignoreChanges: ["description"],
    why: "moto drops the description of rules that reference a security group or a prefix list",
  },
  {
    resourceType: "aws_instance",
    ignoreChanges: ["associate_public_ip_address", "vpc_security_group_ids", "disable_api_termination", "maintenance_options"],
    why:
      "moto gives every VPC instance a public IP whatever the request said, does not report security groups given " +
      "through the primary network interface, reports API termination protection as off, and neither reports an " +
      "instance's maintenance options nor implements ModifyInstanceMaintenanceOptions (auto_recovery = disabled)",
  },
];

class IgnoreEmulatorGaps implements IAspect {
  visit(node: IConstruct): void {
    if (!TerraformResource.isTerraformResource(node)) return;
    const gap = EMULATOR_GAPS.find((g) => g.resourceType === node.terraformResourceType);
    if (!gap) return;
    // cdktf appends an override's list to the construct's own ignore_changes (an instance's ami and user_data).
    node.addOverride("lifecycle.ignore_changes", [...gap.ignoreChanges]);
  }
}

export function ignoreEmulatorGaps(scope: IConstruct): void {
  Aspects.of(scope).add(new IgnoreEmulatorGaps());
}
