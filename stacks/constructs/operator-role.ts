/**
 * The role pool-ops runs as: read and write the key secrets, start, stop, image and describe the pool's instances,
 * read and write the pool's SSM parameters, take and release the pool-wide lease, write the audit log. A human assumes it only with MFA.
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
  /** The pool-wide lease's DynamoDB table (constructs/pool-lease-table.ts). */
  readonly leaseTableArn: string;
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

  /**
   * The operator's permissions: exactly what pool-ops calls (the IAM evaluation test derives that list from the SDK
   * calls in ops/ and fails when a call has no permission here). Added once the secrets exist, since each side names
   * the other.
   */
  grant(grants: OperatorGrants): void {
    const { poolName, region, accountId } = this.props;
    const instances = `arn:aws:ec2:${region}:${accountId}:instance/*`;
    const poolInstancesOnly = { StringEquals: { [`ec2:ResourceTag/${TAG_POOL}`]: poolName } };
    new IamRolePolicy(this, "policy", {
      role: this.role.id,
      name: "pool-ops",
      policy: policyDocument(
        {
          // keys import puts all five; rotate-kes and promote --new-opcert read the cold key and counter and write the
          // counter and the hot keys (restoring their previous values when a rotation fails).
          Sid: "KeySecretValues",
          Effect: "Allow",
          Action: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"],
          Resource: [grants.coldSigningKeyArn, grants.counterArn, ...grants.hotSecretArns],
        },
        {
          // Secrets Manager decrypts (GetSecretValue) and encrypts (PutSecretValue: a data key) with the pool's key.
          Sid: "UsePoolKeyThroughSecretsManager",
          Effect: "Allow",
          Action: ["kms:Decrypt", "kms:GenerateDataKey"],
          Resource: grants.kmsKeyArn,
          Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${region}.amazonaws.com` } },
        },
        {
          // Starting an instance whose volumes are encrypted with the pool's key (the sandbox for a bake), and imaging
          // it: EC2 needs a grant on the key made on the caller's behalf, or the instance goes from pending back to
          // stopped (Client.InternalError). https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html
          Sid: "GrantPoolKeyToEc2ForEncryptedVolumes",
          Effect: "Allow",
          Action: "kms:CreateGrant",
          Resource: grants.kmsKeyArn,
          Condition: { Bool: { "kms:GrantIsForAWSResource": true }, StringEquals: { "kms:ViaService": `ec2.${region}.amazonaws.com` } },
        },
        {
          Sid: "UsePoolKeyThroughEc2",
          Effect: "Allow",
          Action: ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
          Resource: grants.kmsKeyArn,
          Condition: { StringEquals: { "kms:ViaService": `ec2.${region}.amazonaws.com` } },
        },
        // Describe calls cannot be scoped to resources.
        { Sid: "DescribeFleetAndImages", Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeImages"], Resource: "*" },
        {
          // Fencing a producer SSH cannot reach; starting and stopping the image sandbox; lifting a producer's termination
          // protection for its replacement (image rollout); a replaced instance's host keys from its console. Only the
          // pool's own instances.
          Sid: "OperatePoolInstances",
          Effect: "Allow",
          Action: ["ec2:StopInstances", "ec2:StartInstances", "ec2:ModifyInstanceAttribute", "ec2:GetConsoleOutput"],
          Resource: instances,
          Condition: poolInstancesOnly,
        },
        {
          // image bake: an AMI of the pool's sandbox (its root volume's snapshot comes with it), tagged on creation.
          Sid: "ImageThePoolsSandbox",
          Effect: "Allow",
          Action: "ec2:CreateImage",
          Resource: instances,
          Condition: poolInstancesOnly,
        },
        {
          Sid: "NewImagesAndSnapshots",
          Effect: "Allow",
          Action: "ec2:CreateImage",
          Resource: [`arn:aws:ec2:${region}::image/*`, `arn:aws:ec2:${region}::snapshot/*`],
        },
        {
          Sid: "TagImagesOnCreation",
          Effect: "Allow",
          Action: "ec2:CreateTags",
          Resource: `arn:aws:ec2:${region}::image/*`,
          Condition: { StringEquals: { "ec2:CreateAction": "CreateImage", [`aws:RequestTag/${TAG_POOL}`]: poolName } },
        },
        {
          // The leader record (promote), the golden-image ids (image bake, rollout).
          Sid: "PoolParameters",
          Effect: "Allow",
          Action: ["ssm:GetParameter", "ssm:PutParameter"],
          Resource: `arn:aws:ssm:${region}:${accountId}:parameter/${poolName}/*`,
        },
        {
          // The pool-wide lease every changing command takes, renews and releases (conditional writes on the one item;
          // `lock status` reads it, `lock break` deletes it). Exactly these four item calls, on this table only.
          Sid: "PoolLease",
          Effect: "Allow",
          Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
          Resource: grants.leaseTableArn,
        },
        {
          Sid: "AuditLog",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: [grants.auditLogGroupArn, `${grants.auditLogGroupArn}:*`],
        },
      ),
    });
  }
}
