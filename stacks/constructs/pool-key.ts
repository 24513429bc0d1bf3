/**
 * The pool's customer-managed KMS key: secrets, EBS volumes, log groups and the alert topic are encrypted with it.
 * Rotation is on; the key policy delegates to IAM (account root) and lets the services that encrypt on the pool's
 * behalf use it for the pool's own resources only.
 */
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Construct } from "constructs";
import { resourceName } from "../../config/names";
import { policyDocument } from "./iam-policy-document";

export interface PoolKeyProps {
  readonly poolName: string;
  readonly region: string;
  /** @default 30 */
  readonly deletionWindowInDays?: number;
}

export class PoolKey extends Construct {
  readonly key: KmsKey;
  readonly accountId: string;

  constructor(scope: Construct, id: string, props: PoolKeyProps) {
    super(scope, id);
    const account = new DataAwsCallerIdentity(this, "account");
    this.accountId = account.accountId;
    const { region, poolName } = props;
    this.key = new KmsKey(this, "key", {
      description: `${poolName}: secrets, volumes, logs and alerts of the stake pool`,
      enableKeyRotation: true,
      deletionWindowInDays: props.deletionWindowInDays ?? 30,
      policy: policyDocument(
        {
          Sid: "AccountAdministersThroughIam",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${account.accountId}:root` },
          Action: "kms:*",
          Resource: "*",
        },
        {
          // Log groups of this pool only (pool-ops audit, node logs).
          Sid: "CloudWatchLogsForPoolLogGroups",
          Effect: "Allow",
          Principal: { Service: `logs.${region}.amazonaws.com` },
          Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
          Resource: "*",
          Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${region}:${account.accountId}:log-group:/${poolName}/*` } },
        },
        {
          // CloudWatch alarms publish to the encrypted alert topic.
          Sid: "CloudWatchAlarmsPublishToAlertTopic",
          Effect: "Allow",
          Principal: { Service: "cloudwatch.amazonaws.com" },
          Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
          Resource: "*",
          Condition: { StringEquals: { "aws:SourceAccount": account.accountId } },
        },
      ),
      tags: { Name: resourceName(poolName, "key"), Role: "security" },
    });
    new KmsAlias(this, "alias", { name: `alias/${resourceName(poolName)}`, targetKeyId: this.key.keyId });
  }

  get keyArn(): string {
    return this.key.arn;
  }
}
