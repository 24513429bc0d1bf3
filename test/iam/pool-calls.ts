/**
 * What each AWS call of the pool's code is made on, per IAM action: the resources (the pool's, with the context AWS
 * sets) and the calls AWS makes on the caller's behalf (KMS for Secrets Manager and EBS). The actions themselves come
 * from the code (sdk-calls.ts); a row here says where a call lands. An action the code makes without a row here
 * fails the evaluation, naming it.
 */
import { SECRET_CLASS } from "../../stacks/constructs/pool-secrets";
import type { PoolSecretKey } from "../../config/names";
import type { AwsRequest } from "./evaluate";
import type { InstanceTier, PoolFacts } from "./pool-facts";

export interface CallRow {
  /** Which command or boot step makes it, and why. */
  readonly why: string;
  readonly requests: (f: PoolFacts) => AwsRequest[];
}

const allSecrets = (f: PoolFacts) => Object.values(f.secretArn);
const viaSecretsManager = (f: PoolFacts) => ({ "kms:ViaService": `secretsmanager.${f.region}.amazonaws.com` });
const viaEc2 = (f: PoolFacts) => ({ "kms:ViaService": `ec2.${f.region}.amazonaws.com` });
const poolTag = (f: PoolFacts) => ({ "ec2:ResourceTag/Pool": f.poolName });
/** Starting or imaging an instance whose volumes the pool's key encrypts: EC2 asks KMS with the caller's rights. */
const encryptedVolumes = (f: PoolFacts): AwsRequest[] => [
  { action: "kms:CreateGrant", resource: f.poolKeyArn, context: { ...viaEc2(f), "kms:GrantIsForAWSResource": "true" } },
  { action: "kms:Decrypt", resource: f.poolKeyArn, context: viaEc2(f) },
  { action: "kms:DescribeKey", resource: f.poolKeyArn, context: viaEc2(f) },
];

/** pool-ops, as the operator role: every action of the SDK calls under ops/. */
export const POOL_OPS_CALLS: Readonly<Record<string, CallRow>> = {
  "secretsmanager:GetSecretValue": {
    why: "rotate-kes and promote --new-opcert read the cold key and counter; rotate-kes keeps the hot keys' previous values",
    requests: (f) => allSecrets(f).flatMap((resource) => [
      { action: "secretsmanager:GetSecretValue", resource },
      { action: "kms:Decrypt", resource: f.poolKeyArn, context: viaSecretsManager(f) },
    ]),
  },
  "secretsmanager:PutSecretValue": {
    why: "keys import puts all five secrets; rotate-kes the counter and hot keys",
    requests: (f) => allSecrets(f).flatMap((resource) => [
      { action: "secretsmanager:PutSecretValue", resource },
      { action: "kms:GenerateDataKey", resource: f.poolKeyArn, context: viaSecretsManager(f) },
    ]),
  },
  "ec2:DescribeInstances": { why: "inventory --from-aws, fencing, image bake and rollout, rotate-kes confirming each producer before keys are sent", requests: () => [{ action: "ec2:DescribeInstances", resource: "*" }] },
  "ec2:DescribeImages": { why: "image bake waits for the AMI; rollout reads its tags", requests: () => [{ action: "ec2:DescribeImages", resource: "*" }] },
  "ec2:StartInstances": {
    why: "image bake starts the stopped sandbox (CMK-encrypted volumes)",
    requests: (f) => [{ action: "ec2:StartInstances", resource: f.instanceArn("sandbox"), context: poolTag(f) }, ...encryptedVolumes(f)],
  },
  "ec2:StopInstances": {
    why: "promote fences an unreachable leader; image bake stops the sandbox",
    requests: (f) => [
      { action: "ec2:StopInstances", resource: f.instanceArn("producer-1"), context: poolTag(f) },
      { action: "ec2:StopInstances", resource: f.instanceArn("sandbox"), context: poolTag(f) },
    ],
  },
  "ec2:CreateImage": {
    why: "image bake: an AMI of the sandbox's root volume, tagged on creation",
    requests: (f) => [
      { action: "ec2:CreateImage", resource: f.instanceArn("sandbox"), context: poolTag(f) },
      { action: "ec2:CreateImage", resource: `arn:aws:ec2:${f.region}::image/ami-0123456789abcdef0` },
      { action: "ec2:CreateImage", resource: `arn:aws:ec2:${f.region}::snapshot/snap-0123456789abcdef0` },
      {
        action: "ec2:CreateTags",
        resource: `arn:aws:ec2:${f.region}::image/ami-0123456789abcdef0`,
        context: { "ec2:CreateAction": "CreateImage", "aws:RequestTag/Pool": f.poolName, "aws:TagKeys": ["Pool", "Role", "NodeVersion", "CliVersion", "NodeExporterVersion", "BakedAt"] },
      },
      ...encryptedVolumes(f),
    ],
  },
  "ec2:ModifyInstanceAttribute": {
    why: "image rollout lifts a producer's termination protection before replacing it",
    requests: (f) => [{ action: "ec2:ModifyInstanceAttribute", resource: f.instanceArn("producer-2"), context: poolTag(f) }],
  },
  "ec2:GetConsoleOutput": {
    why: "image rollout reads a replaced instance's SSH host keys from its console",
    requests: (f) => [{ action: "ec2:GetConsoleOutput", resource: f.instanceArn("relay-1"), context: poolTag(f) }],
  },
  "ssm:GetParameter": {
    why: "the leader record (promote, rotate-kes, push-config) and the golden-AMI ids (image rollout)",
    requests: (f) => [f.parameters.leader, f.parameters.goldenAmi("relay"), f.parameters.goldenAmi("producer")].map((p) => ({ action: "ssm:GetParameter", resource: f.parameterArn(p) })),
  },
  "ssm:PutParameter": {
    why: "promote writes the leader record; image bake the golden-AMI ids",
    requests: (f) => [f.parameters.leader, f.parameters.goldenAmi("relay"), f.parameters.goldenAmi("producer")].map((p) => ({ action: "ssm:PutParameter", resource: f.parameterArn(p) })),
  },
  "dynamodb:GetItem": {
    why: "the pool-wide lease: who holds it (a refused take names the holder; lock status, lock break); the journal of an unfinished change beside it",
    requests: (f) => [{ action: "dynamodb:GetItem", resource: f.leaseTableArn }],
  },
  "dynamodb:PutItem": {
    why: "every changing command takes the pool-wide lease (a conditional put: free or expired); rotate-kes and promote write their journal beside it",
    requests: (f) => [{ action: "dynamodb:PutItem", resource: f.leaseTableArn }],
  },
  "dynamodb:UpdateItem": {
    why: "the holder renews the lease while its command runs (conditional on its token)",
    requests: (f) => [{ action: "dynamodb:UpdateItem", resource: f.leaseTableArn }],
  },
  "dynamodb:DeleteItem": {
    why: "the holder releases the lease at the end (conditional on its token); lock break removes it; a finished change removes its journal",
    requests: (f) => [{ action: "dynamodb:DeleteItem", resource: f.leaseTableArn }],
  },
  "logs:CreateLogStream": {
    why: "the audit log's stream (POOL_OPS_AUDIT_LOG_GROUP)",
    requests: (f) => [{ action: "logs:CreateLogStream", resource: `${f.auditLogGroupArn}:log-stream:alice-host` }],
  },
  "logs:PutLogEvents": {
    why: "an audit line per changing command",
    requests: (f) => [{ action: "logs:PutLogEvents", resource: `${f.auditLogGroupArn}:log-stream:alice-host` }],
  },
};

/** `npm run plan` (tools/), as the deployer: every action of the SDK calls under tools/. */
export const PLAN_CALLS: Readonly<Record<string, CallRow>> = {
  "servicequotas:GetServiceQuota": {
    why: "preflight: the account's Elastic IP and On-Demand vCPU quotas",
    requests: (f) => ["L-0263D0A3", "L-1216C47A"].map((code) => ({ action: "servicequotas:GetServiceQuota", resource: `arn:aws:servicequotas:${f.region}:${f.account}:ec2/${code}` })),
  },
  "servicequotas:GetAWSDefaultServiceQuota": {
    why: "preflight: a quota never changed is answered by its AWS default",
    requests: () => [{ action: "servicequotas:GetAWSDefaultServiceQuota", resource: "*" }],
  },
  "ec2:DescribeAddresses": { why: "preflight: Elastic IPs in use", requests: () => [{ action: "ec2:DescribeAddresses", resource: "*" }] },
  "ec2:DescribeInstances": { why: "preflight: running instances' vCPUs", requests: () => [{ action: "ec2:DescribeInstances", resource: "*" }] },
  "ec2:DescribeInstanceTypes": { why: "preflight: vCPUs per instance type", requests: () => [{ action: "ec2:DescribeInstanceTypes", resource: "*" }] },
  "ec2:DescribeImages": { why: "preflight: the base image is available", requests: () => [{ action: "ec2:DescribeImages", resource: "*" }] },
};

export interface BootCallRow extends CallRow {
  readonly tier: InstanceTier;
}

const hotSecrets = (f: PoolFacts) => (Object.keys(f.secretArn) as PoolSecretKey[]).filter((k) => SECRET_CLASS[k] === "hot").map((k) => f.secretArn[k]);

/**
 * The hosts' own calls at boot, per script and action (the scripts' `aws …` calls). Private DNS sends every tier's
 * calls to a service with an interface endpoint through that endpoint, whichever subnet the host is in.
 */
export const BOOT_CALLS: Readonly<Record<string, Readonly<Record<string, BootCallRow>>>> = {
  "stacks/boot/leader-guard.sh": {
    "ssm:GetParameter": {
      tier: "producer",
      why: "a producer learns whether it leads",
      requests: (f) => [{ action: "ssm:GetParameter", resource: f.parameterArn(f.parameters.leader), viaEndpoint: f.endpointId("ssm") }],
    },
    "secretsmanager:GetSecretValue": {
      tier: "producer",
      why: "a producer fetches its three hot secrets through the endpoint",
      requests: (f) => hotSecrets(f).flatMap((resource) => [
        { action: "secretsmanager:GetSecretValue", resource, viaEndpoint: f.endpointId("secretsmanager") },
        { action: "kms:Decrypt", resource: f.poolKeyArn, context: viaSecretsManager(f) },
      ]),
    },
  },
  "stacks/boot/prepare-monitoring.sh": {
    "ssm:GetParameter": {
      tier: "monitoring",
      why: "the monitoring host learns the alert topic",
      requests: (f) => [{ action: "ssm:GetParameter", resource: f.parameterArn(f.parameters.alertTopicArn), viaEndpoint: f.endpointId("ssm") }],
    },
  },
};

/**
 * Calls no script names, made by the monitoring host's services with its role (monitoring/monitoring-files.ts):
 * Alertmanager's SNS receiver, and Prometheus' EC2 service discovery (prometheus discovery/aws/ec2.go: DescribeInstances
 * each refresh, DescribeAvailabilityZones for the zone ids; the public EC2 endpoint, the host has an internet route).
 */
export const RUNTIME_CALLS: readonly BootCallRow[] = [
  {
    tier: "monitoring",
    why: "Prometheus finds its scrape targets (the pool's relays and producers) through EC2",
    requests: () => [
      { action: "ec2:DescribeInstances", resource: "*" },
      { action: "ec2:DescribeAvailabilityZones", resource: "*" },
    ],
  },
  {
    tier: "monitoring",
    why: "Alertmanager publishes alerts to the encrypted topic",
    requests: (f) => [
      { action: "sns:Publish", resource: f.alertTopicArn },
      { action: "kms:GenerateDataKey", resource: f.poolKeyArn, context: { "kms:ViaService": `sns.${f.region}.amazonaws.com` } },
    ],
  },
];

/**
 * AWS services using the pool's keys for the pool (key policies decide: services have no identity policy). CloudWatch
 * Logs' use of the keys is conditioned on `kms:EncryptionContext:aws:logs:arn`, which iam-simulate 0.1.173 cannot
 * evaluate (it expands variable context keys only after a `/`, and this one has colons): the test checks those
 * statements' ARN patterns against the log groups directly instead.
 */
export const SERVICE_CALLS: readonly { readonly principal: (f: PoolFacts) => string; readonly why: string; readonly requests: (f: PoolFacts) => AwsRequest[] }[] = [
  {
    principal: () => "cloudwatch.amazonaws.com",
    why: "CloudWatch alarms publish to the encrypted alert topic",
    requests: (f) => [{ action: "kms:GenerateDataKey", resource: f.poolKeyArn, context: { "aws:SourceAccount": f.account } }],
  },
];
