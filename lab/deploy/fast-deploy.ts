/**
 * The lab's quick stand-in for `cdktf deploy` (which takes minutes on the emulator: the AWS provider's fixed
 * waiters): it makes, through the same EC2, Secrets Manager and SSM APIs, what the hosts need from the synthesised
 * stacks — the VPC and its subnets, the secrets' empty containers, the pool's parameters, the pool-wide lease's
 * DynamoDB table (every changing pool-ops command takes the lease there), and each instance with its
 * chain volume — taking every instance's user data, type, address, tags and metadata options from the synthesised
 * Terraform (`cdktf.out`), so a lab machine boots from exactly the bytes a real instance would get. A test that needs
 * the real thing runs `cdktf deploy` itself (image-rollout); the lab's hypervisor boots whatever the emulator launches.
 */
import type { _InstanceType } from "@aws-sdk/client-ec2";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { poolAddressPlan, type HostPlan } from "../../config/address-plan";
import { CHAIN_VOLUME_DEVICE } from "../../config/host-layout";
import { resourceName } from "../../config/names";
import type { PoolConfig } from "../../config/schema";
import { awsClientSettings } from "../../ops/aws/client-config";
import { evaluateTerraformString } from "./terraform-string";

export interface TerraformJson {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
}

export interface DeployedHost {
  readonly name: string;
  readonly role: HostPlan["role"];
  readonly instanceId: string;
  readonly privateIp: string;
  readonly availabilityZone: string;
  readonly chainVolumeId?: string;
}

export interface FastDeployResult {
  readonly vpcId: string;
  readonly subnetIds: Readonly<Record<string, string>>;
  /** Secret ARNs by inventory key (coldSigningKey, …). */
  readonly secrets: Readonly<Record<string, string>>;
}

function stackJson(synthDir: string, stack: string): TerraformJson {
  return JSON.parse(readFileSync(join(synthDir, "stacks", stack, "cdk.tf.json"), "utf8")) as TerraformJson;
}

function resources(json: TerraformJson, type: string): [string, Record<string, unknown>][] {
  return Object.entries(json.resource?.[type] ?? {});
}

/**
 * The DynamoDB tables of a synthesised stack, as Terraform makes them (`aws_dynamodb_table`: CreateTable with its key,
 * billing mode and deletion protection, then UpdateTimeToLive). Tests that need the lease table make it here too, so
 * theirs has the stack's schema.
 */
export async function createDynamodbTables(settings: ReturnType<typeof awsClientSettings>, json: TerraformJson): Promise<string[]> {
  const { DynamoDBClient, CreateTableCommand, UpdateTimeToLiveCommand } = await import("@aws-sdk/client-dynamodb");
  const dynamodb = new DynamoDBClient(settings);
  const made: string[] = [];
  try {
    for (const [, table] of resources(json, "aws_dynamodb_table")) {
      const name = String(table.name);
      const attributes = (table.attribute ?? []) as { name: string; type: "S" | "N" | "B" }[];
      await dynamodb.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: table.billing_mode === "PAY_PER_REQUEST" ? "PAY_PER_REQUEST" : "PROVISIONED",
          KeySchema: [{ AttributeName: String(table.hash_key), KeyType: "HASH" }],
          AttributeDefinitions: attributes.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
          DeletionProtectionEnabled: table.deletion_protection_enabled === true,
        }),
      );
      const ttl = table.ttl as { attribute_name?: string; enabled?: boolean } | undefined;
      if (ttl?.enabled && ttl.attribute_name) {
        await dynamodb.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: ttl.attribute_name, Enabled: true } }));
      }
      made.push(name);
    }
    return made;
  } finally {
    dynamodb.destroy();
  }
}

/** The foundation every instance needs: VPC and subnets as the network stack plans them, secrets, parameters. */
export async function deployFoundation(endpoint: string, config: PoolConfig, synthDir: string, values: { leader: string; goldenAmi: string }): Promise<FastDeployResult> {
  const { EC2Client, CreateVpcCommand, CreateSubnetCommand } = await import("@aws-sdk/client-ec2");
  const { SecretsManagerClient, CreateSecretCommand } = await import("@aws-sdk/client-secrets-manager");
  const { SSMClient, PutParameterCommand } = await import("@aws-sdk/client-ssm");
  const settings = awsClientSettings({ region: config.region, endpoint });
  const ec2 = new EC2Client(settings);
  const secretsManager = new SecretsManagerClient(settings);
  const ssm = new SSMClient(settings);
  try {
    const plan = poolAddressPlan(config);
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: plan.vpcCidr }));
    const vpcId = vpc.Vpc!.VpcId!;
    const subnetIds: Record<string, string> = {};
    for (const subnet of plan.subnets) {
      const made = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: subnet.cidr, AvailabilityZone: subnet.availabilityZone }));
      subnetIds[subnet.id] = made.Subnet!.SubnetId!;
    }
    const secrets: Record<string, string> = {};
    const keyOf = (name: string): string | undefined => {
      const suffix = name.slice(config.name.length + 1);
      return { "cold/signing-key": "coldSigningKey", "cold/opcert-counter": "opcertCounter", "hot/kes-signing-key": "kesSigningKey", "hot/vrf-signing-key": "vrfSigningKey", "hot/opcert": "opcert" }[suffix];
    };
    for (const [, secret] of resources(stackJson(synthDir, "security"), "aws_secretsmanager_secret")) {
      const name = String(secret.name);
      const made = await secretsManager.send(new CreateSecretCommand({ Name: name, Description: typeof secret.description === "string" ? secret.description : undefined }));
      const key = keyOf(name);
      if (key) secrets[key] = made.ARN!;
    }
    await createDynamodbTables(settings, stackJson(synthDir, "security"));
    await createInstanceProfiles(endpoint, config.region, stackJson(synthDir, "security"));
    // The monitoring stack's alert topic, published in SSM for the monitoring host's boot.
    const { SNSClient, CreateTopicCommand } = await import("@aws-sdk/client-sns");
    const sns = new SNSClient(settings);
    const refs: Record<string, string> = {};
    try {
      for (const [address, topic] of resources(stackJson(synthDir, "monitoring"), "aws_sns_topic")) {
        const made = await sns.send(new CreateTopicCommand({ Name: String(topic.name) }));
        refs[`aws_sns_topic.${address}.arn`] = made.TopicArn!;
      }
    } finally {
      sns.destroy();
    }
    for (const [, parameter] of resources(stackJson(synthDir, "monitoring"), "aws_ssm_parameter")) {
      await ssm.send(new PutParameterCommand({ Name: String(parameter.name), Value: evaluateTerraformString(String(parameter.value), refs), Type: "String", Overwrite: true }));
    }
    for (const [, parameter] of resources(stackJson(synthDir, "nodes"), "aws_ssm_parameter")) {
      const name = String(parameter.name);
      // The leader's and the golden images' values are the operator's (promote, image bake): Terraform writes only
      // their first value, which is what the synthesised stack has unless it names the base image lookup.
      const value = name.endsWith("/leader") ? values.leader : name.includes("/ami/") ? values.goldenAmi : String(parameter.value ?? parameter.insecure_value ?? "");
      await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: "String", Overwrite: true }));
    }
    return { vpcId, subnetIds, secrets };
  } finally {
    ec2.destroy();
    secretsManager.destroy();
    ssm.destroy();
  }
}

/**
 * The security stack's instance profiles, by name (moto's IAM over its query API: the SDK's IAM client is not a
 * dependency). Instances launch with their tier's profile as the stacks launch them, so pool-ops's EC2 check of a
 * producer's identity (ops/aws/producer-identity.ts) sees what it would see on AWS.
 */
async function createInstanceProfiles(endpoint: string, region: string, security: TerraformJson): Promise<void> {
  for (const [, profile] of resources(security, "aws_iam_instance_profile")) {
    const name = String(profile.name);
    const response = await fetch(`${endpoint}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `AWS4-HMAC-SHA256 Credential=test/20240101/${region}/iam/aws4_request, SignedHeaders=host, Signature=0` },
      body: `Action=CreateInstanceProfile&InstanceProfileName=${encodeURIComponent(name)}&Version=2010-05-08`,
    });
    if (response.status !== 200 && !(await response.text()).includes("EntityAlreadyExists")) throw new Error(`lab deploy: CreateInstanceProfile ${name}: HTTP ${response.status}`);
  }
}

/** The profile a synthesised instance names (`<pool>-<tier>`, from its Role tag: its reference is to another stack). */
function instanceProfileOf(config: PoolConfig, tags: Record<string, string>): string | undefined {
  return tags.Role ? resourceName(config.name, tags.Role) : undefined;
}

/**
 * Launches the named hosts as the nodes stack describes them (volume first, then the instance whose user data names
 * it, then the attachment, in Terraform's dependency order).
 */
export async function launchHosts(
  endpoint: string,
  config: PoolConfig,
  synthDir: string,
  foundation: FastDeployResult,
  hosts: readonly string[],
  imageFor: (host: HostPlan) => string,
): Promise<DeployedHost[]> {
  const { EC2Client, CreateVolumeCommand, RunInstancesCommand, AttachVolumeCommand } = await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client(awsClientSettings({ region: config.region, endpoint }));
  const nodes = stackJson(synthDir, "nodes");
  const monitoring = stackJson(synthDir, "monitoring");
  const plan = poolAddressPlan(config);
  const instances = [...resources(nodes, "aws_instance"), ...resources(monitoring, "aws_instance")];
  const volumes = new Map(resources(nodes, "aws_ebs_volume"));
  const attachments = resources(nodes, "aws_volume_attachment");
  try {
    const deployed: DeployedHost[] = [];
    for (const name of hosts) {
      const host = plan.hosts.find((h) => h.name === name);
      if (!host) throw new Error(`lab deploy: no host ${name} in the pool's address plan`);
      const found = instances.find(([, r]) => r.private_ip === host.privateIp);
      if (!found) throw new Error(`lab deploy: the synthesised stacks have no instance at ${host.privateIp} (${name})`);
      const [address, instance] = found;
      const attachment = attachments.find(([, a]) => String(a.instance_id) === `\${aws_instance.${address}.id}`)?.[1];
      const volumeAddress = attachment ? /^\$\{aws_ebs_volume\.([^.]+)\.id\}$/.exec(String(attachment.volume_id))?.[1] : undefined;
      const volume = volumeAddress ? volumes.get(volumeAddress) : undefined;
      let chainVolumeId: string | undefined;
      if (volume) {
        const made = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: String(volume.availability_zone), Size: Number(volume.size), VolumeType: "gp3", Encrypted: true }));
        chainVolumeId = made.VolumeId!;
      }
      const refs: Record<string, string> = volumeAddress && chainVolumeId ? { [`aws_ebs_volume.${volumeAddress}.id`]: chainVolumeId } : {};
      const userData = typeof instance.user_data === "string"
        ? Buffer.from(evaluateTerraformString(instance.user_data, refs)).toString("base64")
        : String(instance.user_data_base64 ?? "");
      const tags = Object.entries((instance.tags ?? {}) as Record<string, string>).map(([Key, Value]) => ({ Key, Value }));
      const profile = instanceProfileOf(config, (instance.tags ?? {}) as Record<string, string>);
      const metadata = (instance.metadata_options ?? {}) as { http_tokens?: string; http_endpoint?: string; http_put_response_hop_limit?: number };
      const run = await ec2.send(
        new RunInstancesCommand({
          ImageId: imageFor(host),
          InstanceType: String(instance.instance_type) as _InstanceType,
          MinCount: 1,
          MaxCount: 1,
          SubnetId: foundation.subnetIds[host.subnetId],
          PrivateIpAddress: host.privateIp,
          UserData: userData,
          TagSpecifications: [{ ResourceType: "instance", Tags: tags }],
          MetadataOptions: {
            HttpTokens: metadata.http_tokens === "required" ? "required" : "optional",
            HttpEndpoint: metadata.http_endpoint === "disabled" ? "disabled" : "enabled",
            HttpPutResponseHopLimit: metadata.http_put_response_hop_limit,
          },
          DisableApiTermination: instance.disable_api_termination === true,
          ...(profile ? { IamInstanceProfile: { Name: profile } } : {}),
        }),
      );
      const instanceId = run.Instances![0]!.InstanceId!;
      if (chainVolumeId) await ec2.send(new AttachVolumeCommand({ VolumeId: chainVolumeId, InstanceId: instanceId, Device: String(attachment?.device_name ?? CHAIN_VOLUME_DEVICE) }));
      deployed.push({ name, role: host.role, instanceId, privateIp: host.privateIp, availabilityZone: host.availabilityZone, chainVolumeId });
    }
    return deployed;
  } finally {
    ec2.destroy();
  }
}
