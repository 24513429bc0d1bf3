/**
 * One instance role and profile per tier, least privilege: SSM Session Manager and the CloudWatch agent for every
 * tier; producers additionally read their three hot-key secrets (nothing else, and never the cold ones).
 */
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { Construct } from "constructs";
import { resourceName } from "../../config/names";
import { EC2_TRUST_POLICY, policyDocument } from "./iam-policy-document";

export type InstanceTier = "relay" | "producer" | "bastion" | "monitoring" | "sandbox";
export const INSTANCE_TIERS: readonly InstanceTier[] = ["relay", "producer", "bastion", "monitoring", "sandbox"];

/** AWS managed policies every instance gets: Session Manager (break-glass access without SSH) and the CloudWatch agent. */
export const BASELINE_MANAGED_POLICIES = [
  "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
  "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
];

export interface TierRolesProps {
  readonly poolName: string;
  readonly region: string;
  readonly extraStatements?: readonly { tier: InstanceTier; actions: readonly string[]; resources: readonly string[] }[];
}

export class TierRoles extends Construct {
  readonly roles: Record<InstanceTier, IamRole>;
  readonly profiles: Record<InstanceTier, IamInstanceProfile>;

  constructor(scope: Construct, id: string, props: TierRolesProps) {
    super(scope, id);
    const roles = {} as Record<InstanceTier, IamRole>;
    const profiles = {} as Record<InstanceTier, IamInstanceProfile>;
    for (const tier of INSTANCE_TIERS) {
      const name = resourceName(props.poolName, tier);
      const role = new IamRole(this, `${tier}-role`, {
        name,
        description: `${props.poolName} ${tier} instances`,
        assumeRolePolicy: EC2_TRUST_POLICY,
        tags: { Name: name, Role: tier },
      });
      BASELINE_MANAGED_POLICIES.forEach((policyArn, i) => new IamRolePolicyAttachment(this, `${tier}-managed-${i}`, { role: role.name, policyArn }));
      roles[tier] = role;
      profiles[tier] = new IamInstanceProfile(this, `${tier}-profile`, { name, role: role.name, tags: { Name: name, Role: tier } });
    }

    for (const [i, extra] of (props.extraStatements ?? []).entries()) {
      new IamRolePolicy(this, `${extra.tier}-extra-${i}`, {
        role: roles[extra.tier].id,
        name: `extra-${i}`,
        policy: policyDocument({ Effect: "Allow", Action: [...extra.actions], Resource: [...extra.resources] }),
      });
    }
    this.roles = roles;
    this.profiles = profiles;
    this.region = props.region;
  }

  private readonly region: string;

  /**
   * Producers fetch their hot keys at boot: read those three secrets, decrypt only through Secrets Manager. Added once
   * the secrets exist, since their resource policies name the producer role.
   */
  grantHotKeys(hotSecretArns: string[], kmsKeyArn: string, leaderParameterArn: string): void {
    new IamRolePolicy(this, "producer-hot-keys", {
      role: this.roles.producer.id,
      name: "read-hot-keys",
      policy: policyDocument(
        { Sid: "ReadHotKeys", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: hotSecretArns },
        {
          Sid: "DecryptThroughSecretsManager",
          Effect: "Allow",
          Action: "kms:Decrypt",
          Resource: kmsKeyArn,
          Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${this.region}.amazonaws.com` } },
        },
        // A producer learns at boot whether it leads, to put its credentials where its node forges or holds them.
        { Sid: "ReadLeaderRecord", Effect: "Allow", Action: "ssm:GetParameter", Resource: leaderParameterArn },
      ),
    });
  }
}
