/**
 * The EC2 and SSM side of golden images: the sandbox instance's power state, creating an AMI from it (without the
 * chain database volume), waiting until it is available, and the pool's golden-AMI parameters (`/<pool>/ami/<role>`,
 * created by the nodes stack, which then ignores their values).
 */
import { awsClientSettings, type AwsTarget } from "./client-config";
import { lazySdk } from "./lazy-sdk";

export class GoldenImageError extends Error {
  override name = "GoldenImageError";
}

/** The roles that run cardano-node from the golden image. */
export const NODE_IMAGE_ROLES = ["relay", "producer"] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ImageTags {
  readonly [key: string]: string;
}

/** A pool instance as EC2 reports it, found by its tags. */
export interface PoolInstanceState {
  readonly instanceId: string;
  readonly imageId: string;
  readonly state: string;
}

export class GoldenImages {
  private readonly ec2Sdk;
  private readonly ssmSdk;

  constructor(
    target: AwsTarget,
    /** How often state is polled. @default 5 s against AWS, 0.2 s against the emulator */
    private readonly pollMs = target.endpoint ? 200 : 5000,
  ) {
    this.ec2Sdk = lazySdk(() => import("@aws-sdk/client-ec2"), (sdk) => new sdk.EC2Client(awsClientSettings(target)));
    this.ssmSdk = lazySdk(() => import("@aws-sdk/client-ssm"), (sdk) => new sdk.SSMClient(awsClientSettings(target)));
  }

  async instanceState(instanceId: string): Promise<string> {
    const { sdk: ec2, client: ec2Client } = await this.ec2Sdk.get();
    const out = await ec2Client.send(new ec2.DescribeInstancesCommand({ InstanceIds: [instanceId] })).catch((error: Error) => {
      throw new GoldenImageError(`cannot describe instance ${instanceId}: ${error.message}`);
    });
    const state = out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
    if (!state) throw new GoldenImageError(`instance ${instanceId} is unknown to EC2`);
    return state;
  }

  private async waitState(instanceId: string, want: string, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.instanceState(instanceId);
      if (state === want) return;
      if (Date.now() > until) throw new GoldenImageError(`instance ${instanceId} is ${state}, not ${want}, after ${Math.round(timeoutMs / 1000)} s`);
      await sleep(this.pollMs);
    }
  }

  /** Starts the instance unless it runs; resolves once EC2 reports `running`. Returns whether it had to start it. */
  async ensureRunning(instanceId: string, timeoutMs: number): Promise<boolean> {
    const { sdk: ec2, client: ec2Client } = await this.ec2Sdk.get();
    const state = await this.instanceState(instanceId);
    if (state === "running") return false;
    if (state === "stopping") await this.waitState(instanceId, "stopped", timeoutMs);
    if (state !== "pending") {
      await ec2Client.send(new ec2.StartInstancesCommand({ InstanceIds: [instanceId] })).catch((error: Error) => {
        throw new GoldenImageError(`cannot start instance ${instanceId}: ${error.message}`);
      });
    }
    await this.waitState(instanceId, "running", timeoutMs);
    return true;
  }

  async stop(instanceId: string, timeoutMs: number): Promise<void> {
    const { sdk: ec2, client: ec2Client } = await this.ec2Sdk.get();
    if ((await this.instanceState(instanceId)) === "stopped") return;
    await ec2Client.send(new ec2.StopInstancesCommand({ InstanceIds: [instanceId] })).catch((error: Error) => {
      throw new GoldenImageError(`cannot stop instance ${instanceId}: ${error.message}`);
    });
    await this.waitState(instanceId, "stopped", timeoutMs);
  }

  /**
   * An AMI of the instance's root volume only: the chain database volume is left out (`NoDevice`), so the image
   * stays small and no instance boots with another's database. Tagged on creation.
   */
  async createImage(instanceId: string, name: string, description: string, tags: ImageTags, excludeDevices: readonly string[]): Promise<string> {
    const { sdk: ec2, client: ec2Client } = await this.ec2Sdk.get();
    const out = await ec2Client
      .send(
        new ec2.CreateImageCommand({
          InstanceId: instanceId,
          Name: name,
          Description: description,
          BlockDeviceMappings: excludeDevices.map((DeviceName) => ({ DeviceName, NoDevice: "" })),
          TagSpecifications: [{ ResourceType: "image", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
        }),
      )
      .catch((error: Error) => {
        throw new GoldenImageError(`cannot create an image of ${instanceId}: ${error.message}`);
      });
    if (!out.ImageId) throw new GoldenImageError(`EC2 returned no image id for ${instanceId}`);
    return out.ImageId;
  }

  async waitAvailable(imageId: string, timeoutMs: number): Promise<void> {
    const { sdk: ec2, client: ec2Client } = await this.ec2Sdk.get();
    const until = Date.now() + timeoutMs;
    for (;;) {
      const out = await ec2Client.send(new ec2.DescribeImagesCommand({ ImageIds: [imageId] }));
      const state = out.Images?.[0]?.State ?? "unknown";
      if (state === "available") return;
      if (state === "failed" || state === "invalid" || state === "error") throw new GoldenImageError(`image ${imageId} is ${state}: ${out.Images?.[0]?.StateReason?.Message ?? "no reason given"}`);
      if (Date.now() > until) throw new GoldenImageError(`image ${imageId} is still ${state} after ${Math.round(timeoutMs / 1000)} s`);
      await sleep(this.pollMs);
    }
  }

  /** The id of this account's image named `name`, if there is one (names are unique per account and region). */
  async imageNamed(name: string): Promise<string | undefined> {
    const { sdk: ec2, client: ec2Client } = await this.ec2Sdk.get();
    const out = await ec2Client.send(new ec2.DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "name", Values: [name] }] })).catch((error: Error) => {
      throw new GoldenImageError(`cannot look for image ${name}: ${error.message}`);
    });
    return out.Images?.[0]?.ImageId;
  }

  async imageTags(imageId: string): Promise<Record<string, string>> {
    const { sdk: ec2, client: ec2Client } = await this.ec2Sdk.get();
    const out = await ec2Client.send(new ec2.DescribeImagesCommand({ ImageIds: [imageId] }));
    return Object.fromEntries((out.Images?.[0]?.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
  }

  /** The pool's instances that are not terminated, by their Name tag (`<pool>-<host>`). */
  async poolInstances(pool: string): Promise<Map<string, PoolInstanceState>> {
    const { sdk: ec2, client: ec2Client } = await this.ec2Sdk.get();
    const found = new Map<string, PoolInstanceState>();
    let NextToken: string | undefined;
    do {
      const out = await ec2Client
        .send(new ec2.DescribeInstancesCommand({ Filters: [{ Name: "tag:Pool", Values: [pool] }, { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] }], NextToken }))
        .catch((error: Error) => {
          throw new GoldenImageError(`cannot list the pool's instances: ${error.message}`);
        });
      for (const instance of (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        const name = instance.Tags?.find((t) => t.Key === "Name")?.Value;
        if (name && instance.InstanceId) found.set(name, { instanceId: instance.InstanceId, imageId: instance.ImageId ?? "", state: instance.State?.Name ?? "unknown" });
      }
      NextToken = out.NextToken;
    } while (NextToken);
    return found;
  }

  /** Producers are termination-protected; a deliberate replacement lifts it first (the new instance has it again). */
  async allowTermination(instanceId: string): Promise<void> {
    const { sdk: ec2, client: ec2Client } = await this.ec2Sdk.get();
    await ec2Client.send(new ec2.ModifyInstanceAttributeCommand({ InstanceId: instanceId, DisableApiTermination: { Value: false } })).catch((error: Error) => {
      throw new GoldenImageError(`cannot lift termination protection of ${instanceId}: ${error.message}`);
    });
  }

  async readParameter(name: string): Promise<string | undefined> {
    const { sdk: ssm, client: ssmClient } = await this.ssmSdk.get();
    try {
      return (await ssmClient.send(new ssm.GetParameterCommand({ Name: name }))).Parameter?.Value;
    } catch (error) {
      if ((error as { name?: string }).name === "ParameterNotFound") return undefined;
      throw new GoldenImageError(`cannot read ${name}: ${(error as Error).message}`);
    }
  }

  async writeParameter(name: string, value: string): Promise<void> {
    const { sdk: ssm, client: ssmClient } = await this.ssmSdk.get();
    await ssmClient.send(new ssm.PutParameterCommand({ Name: name, Value: value, Type: "String", Overwrite: true })).catch((error: Error) => {
      throw new GoldenImageError(`cannot write ${name}: ${(error as Error).message}`);
    });
  }

  close(): void {
    this.ec2Sdk.destroy();
    this.ssmSdk.destroy();
  }
}
