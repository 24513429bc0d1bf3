/**
 * The pool's mutable facts in SSM Parameter Store. Terraform creates them and then ignores their values: pool-ops
 * writes them (`promote` the leader, `image bake` the golden AMIs), so a promotion never shows as drift. Relays and
 * producers take their image from their role's golden-AMI parameter.
 */
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { Construct } from "constructs";
import { poolParameterNames, resourceName } from "../../config/names";

export const GOLDEN_IMAGE_ROLES = ["relay", "producer", "bastion", "monitoring"] as const;

export interface PoolParametersProps {
  readonly poolName: string;
  /** The producer that forges when the pool is first deployed. @default "producer-1" */
  readonly initialLeader?: string;
  /** Image recorded for every role until the first golden image is baked. */
  readonly baseImageId: string;
}

export class PoolParameters extends Construct {
  readonly leader: SsmParameter;
  readonly goldenImages: Record<(typeof GOLDEN_IMAGE_ROLES)[number], SsmParameter>;

  constructor(scope: Construct, id: string, props: PoolParametersProps) {
    super(scope, id);
    const names = poolParameterNames(props.poolName);
    this.leader = new SsmParameter(this, "leader", {
      name: names.leader,
      type: "String",
      value: props.initialLeader ?? "producer-1",
      description: "Host name of the producer that forges; written by pool-ops promote",
      tags: { Name: resourceName(props.poolName, "leader"), Role: "pool" },
      lifecycle: { ignoreChanges: ["value"] },
    });
    this.goldenImages = Object.fromEntries(
      GOLDEN_IMAGE_ROLES.map((role) => [
        role,
        new SsmParameter(this, `ami-${role}`, {
          name: names.goldenAmi(role),
          type: "String",
          // insecure_value: an AMI id is no secret, and Terraform refreshes it from SSM, so after `image bake` a
          // replaced instance starts from the baked image (instances ignore later AMI changes until replaced).
          insecureValue: props.baseImageId,
          description: `Golden AMI for ${role} hosts; written by pool-ops image bake, read when an instance is (re)created`,
          tags: { Name: resourceName(props.poolName, `ami-${role}`), Role: "pool" },
          lifecycle: { ignoreChanges: ["insecure_value"] },
        }),
      ]),
    ) as PoolParameters["goldenImages"];
  }
}
