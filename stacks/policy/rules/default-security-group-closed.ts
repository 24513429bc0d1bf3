import { asRecords, COMPLIANT, violation, type PolicyRule } from "../rule";

/** The VPC's default security group is managed and has no rules, so nothing can silently fall back on it. */
export const defaultSecurityGroupClosed: PolicyRule = {
  id: "VPC-DEFAULT-SG-CLOSED",
  threat: "the default group allows all traffic between its members: an instance launched without a group would join it",
  equivalents: { checkov: ["CKV2_AWS_12"], trivy: ["AVD-AWS-0173"], cdkNag: ["VPCDefaultSecurityGroupClosed"] },
  resourceTypes: ["aws_vpc", "aws_default_security_group"],
  check(resource, context) {
    if (resource.type === "aws_vpc") {
      return context.referencing(resource, "aws_default_security_group", "vpc_id").length > 0
        ? COMPLIANT
        : violation("the VPC's default security group is not managed (add an aws_default_security_group with no rules)");
    }
    const rules = [...asRecords(resource.config.ingress), ...asRecords(resource.config.egress)];
    return rules.length === 0 ? COMPLIANT : violation("the default security group has rules");
  },
};
