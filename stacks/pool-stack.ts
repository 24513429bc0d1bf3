/**
 * The base of every stack: the AWS provider (with the pool's default tags, and the loopback emulator only when the
 * config says so) and the Terraform backend chosen in the config.
 */
import { LocalBackend, S3Backend, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { Construct } from "constructs";
import { resolve } from "node:path";
import { TAG_POOL } from "../config/names";
import type { PoolConfig } from "../config/schema";
import { ignoreEmulatorGaps } from "./emulator-gaps";
import { attachPolicyChecks } from "./policy/engine";

/** Services whose endpoints are redirected to the emulator in test mode. */
const EMULATED_SERVICES = [
  "ec2",
  "sts",
  "iam",
  "kms",
  "secretsmanager",
  "ssm",
  "cloudwatch",
  "logs",
  "sns",
  "s3",
  "dynamodb",
] as const;

export interface PoolStackProps {
  readonly config: PoolConfig;
}

export abstract class PoolStack extends TerraformStack {
  readonly config: PoolConfig;

  constructor(scope: Construct, id: string, props: PoolStackProps) {
    super(scope, id);
    this.config = props.config;
    this.configureProvider();
    this.configureBackend(id);
    attachPolicyChecks(this);
  }

  private configureProvider(): void {
    const { config } = this;
    const defaultTags = [{ tags: { ...config.tags, [TAG_POOL]: config.name, ManagedBy: "cdktf" } }];
    const emulator = config.emulator;
    if (!emulator) {
      new AwsProvider(this, "aws", { region: config.region, defaultTags });
      return;
    }
    // Test mode: every API on the loopback emulator, with throwaway credentials and no call to the real metadata API.
    const endpoint = emulator.endpoint.replace(/\/$/, "");
    new AwsProvider(this, "aws", {
      region: config.region,
      defaultTags,
      accessKey: "test",
      secretKey: "test",
      skipCredentialsValidation: true,
      skipMetadataApiCheck: "true",
      skipRegionValidation: true,
      s3UsePathStyle: true,
      endpoints: [Object.fromEntries(EMULATED_SERVICES.map((service) => [service, endpoint]))],
    });
    ignoreEmulatorGaps(this);
  }

  private configureBackend(stackId: string): void {
    const backend = this.config.backend;
    if (backend.type === "local") {
      // Absolute, outside cdktf.out: `cdktf synth` may wipe its output directory, state must survive it.
      new LocalBackend(this, { path: resolve(backend.directory, `${stackId}.tfstate`) });
      return;
    }
    new S3Backend(this, {
      bucket: backend.bucket,
      key: `${backend.keyPrefix}/${stackId}.tfstate`,
      region: backend.region ?? this.config.region,
      encrypt: true,
      ...(backend.kmsKeyId ? { kmsKeyId: backend.kmsKeyId } : {}),
      ...(backend.dynamodbTable ? { dynamodbTable: backend.dynamodbTable } : {}),
    });
    // Terraform ≥ 1.10 locks with a lockfile next to the state; DynamoDB locking is deprecated upstream.
    if (!backend.dynamodbTable) this.addOverride("terraform.backend.s3.use_lockfile", true);
  }
}
