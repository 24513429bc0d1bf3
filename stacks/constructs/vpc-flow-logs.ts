/**
 * VPC flow logs to CloudWatch Logs, encrypted with a key of their own (created with the log group, since the log
 * group's key must be set at creation) and kept for a bounded time.
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Construct } from "constructs";
import { resourceName } from "../../config/names";

export interface VpcFlowLogsProps {
  readonly poolName: string;
  readonly region: string;
  readonly vpcId: string;
  /** @default 90 */
  readonly retentionDays?: number;
  /** @default "ALL" (accepted and rejected flows) */
  readonly trafficType?: "ALL" | "ACCEPT" | "REJECT";
}

export const DEFAULT_FLOW_LOG_RETENTION_DAYS = 90;

export class VpcFlowLogs extends Construct {
  readonly logGroup: CloudwatchLogGroup;
  readonly key: KmsKey;

  constructor(scope: Construct, id: string, props: VpcFlowLogsProps) {
    super(scope, id);
    const name = (...parts: string[]) => resourceName(props.poolName, ...parts);
    const account = new DataAwsCallerIdentity(this, "account");
    const logGroupName = `/${props.poolName}/vpc-flow-logs`;

    this.key = new KmsKey(this, "key", {
      description: `${props.poolName}: VPC flow log encryption`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AccountAdministers",
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${account.accountId}:root` },
            Action: "kms:*",
            Resource: "*",
          },
          {
            // CloudWatch Logs encrypts this one log group with the key, nothing else.
            Sid: "CloudWatchLogsUsesKeyForFlowLogs",
            Effect: "Allow",
            Principal: { Service: `logs.${props.region}.amazonaws.com` },
            Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            Resource: "*",
            Condition: {
              ArnEquals: {
                "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${props.region}:${account.accountId}:log-group:${logGroupName}`,
              },
            },
          },
        ],
      }),
      tags: { Name: name("flow-logs"), Role: "network" },
    });
    new KmsAlias(this, "alias", { name: `alias/${name("flow-logs")}`, targetKeyId: this.key.keyId });

    this.logGroup = new CloudwatchLogGroup(this, "log-group", {
      name: logGroupName,
      retentionInDays: props.retentionDays ?? DEFAULT_FLOW_LOG_RETENTION_DAYS,
      kmsKeyId: this.key.arn,
      tags: { Name: name("flow-logs"), Role: "network" },
    });

    const role = new IamRole(this, "role", {
      name: name("flow-logs"),
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
            Action: "sts:AssumeRole",
            // Confused-deputy guard: only flow logs of this account may use the role.
            Condition: { StringEquals: { "aws:SourceAccount": account.accountId } },
          },
        ],
      }),
      tags: { Name: name("flow-logs"), Role: "network" },
    });
    new IamRolePolicy(this, "role-policy", {
      role: role.id,
      name: "write-flow-logs",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resource: [`${this.logGroup.arn}:*`],
          },
        ],
      }),
    });

    new FlowLog(this, "flow-log", {
      vpcId: props.vpcId,
      trafficType: props.trafficType ?? "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: this.logGroup.arn,
      iamRoleArn: role.arn,
      maxAggregationInterval: 600,
      tags: { Name: name("flow-log"), Role: "network" },
    });
  }
}
