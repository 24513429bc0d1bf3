/**
 * The role pool-ops runs as: read the cold-key secrets, read and write the hot-key secrets and the counter, describe
 * and stop the pool's instances (fencing), read and write the pool's SSM parameters, write the audit log. A human
 * assumes it only with MFA.
 */
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { Construct } from "constructs";
import { TAG_POOL, resourceName } from "../../config/names";
import { policyDocument } from "./iam-policy-document";

export interface OperatorRoleProps {
  readonly poolName: string;
  readonly region: string;
  readonly accountId: string;
  /** Principals allowed to assume the role (with MFA). @default the account root */
  readonly trustedPrincipals?: readonly string[];
  /** Maximum session length in seconds. @default 3600 */
  readonly maxSessionSeconds?: number;
}

export interface OperatorGrants {
  readonly kmsKeyArn: string;
  readonly coldSigningKeyArn: string;
  readonly counterArn: string;
  readonly hotSecretArns: string[];
  readonly auditLogGroupArn: string;
}

export class OperatorRole extends Construct {
  readonly role: IamRole;
  private readonly props: OperatorRoleProps;

  constructor(scope: Construct, id: string, props: OperatorRoleProps) {
    super(scope, id);
    this.props = props;
    const name = resourceName(props.poolName, "operator");
    const principals = props.trustedPrincipals?.length ? [...props.trustedPrincipals] : [`arn:aws:iam::${props.accountId}:root`];
    this.role = new IamRole(this, "role", {
      name,
      description: `${props.poolName}: pool-ops (KES rotation, promotion, key import); assumed with MFA`,
      maxSessionDuration: props.maxSessionSeconds ?? 3600,
      assumeRolePolicy: policyDocument({
        Effect: "Allow",
        Principal: { AWS: principals },
        Action: "sts:AssumeRole",
        Condition: { Bool: { "aws:MultiFactorAuthPresent": true } },
      }),
      tags: { Name: name, Role: "operator" },
    });
  }

  /** The operator's permissions; added once the secrets exist, since each side names the other. */
  grant(grants: OperatorGrants): void {
    const { poolName, region, accountId } = this.props;
    new IamRolePolicy(this, "policy", {
      role: this.role.id,
      name: "pool-ops",
      policy: policyDocument(
        {
          Sid: "ReadColdKeyAndCounter",
          Effect: "Allow",
          Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
          Resource: [grants.coldSigningKeyArn, grants.counterArn],
        },
        {
          // The counter advances with every new cert; hot keys are replaced and, on a failed rotation, restored.
          Sid: "WriteCounterAndHotKeys",
          Effect: "Allow",
          Action: [
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
            "secretsmanager:ListSecretVersionIds",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecretVersionStage",
          ],
          Resource: [...grants.hotSecretArns, grants.counterArn],
        },
        {
          Sid: "UsePoolKeyThroughSecretsManager",
          Effect: "Allow",
          Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
          Resource: grants.kmsKeyArn,
          Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${region}.amazonaws.com` } },
        },
        // Describe calls cannot be scoped to resources.
        { Sid: "DescribeFleet", Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ec2:DescribeImages"], Resource: "*" },
        {
          // Fencing a producer that SSH cannot reach, and starting the image sandbox: only the pool's own instances.
          Sid: "StopAndStartPoolInstances",
          Effect: "Allow",
          Action: ["ec2:StopInstances", "ec2:StartInstances"],
          Resource: `arn:aws:ec2:${region}:${accountId}:instance/*`,
          Condition: { StringEquals: { [`ec2:ResourceTag/${TAG_POOL}`]: poolName } },
        },
        {
          Sid: "PoolParameters",
          Effect: "Allow",
          Action: ["ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter"],
          Resource: `arn:aws:ssm:${region}:${accountId}:parameter/${poolName}/*`,
        },
        {
          Sid: "AuditLog",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          Resource: [grants.auditLogGroupArn, `${grants.auditLogGroupArn}:*`],
        },
      ),
    });
  }
}
