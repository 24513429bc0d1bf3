/**
 * The lab's golden node image, made the way an operator makes one: the pool's own `pool-ops image bake` on a sandbox
 * machine booted from the base image with the sandbox's user data, the release archives pinned in the pool config
 * (a lab stand-in cardano-node release, a real node_exporter), imaged through EC2's CreateImage and recorded in
 * `/<pool>/ami/{relay,producer}`. Relays and producers then launch from it, as instances take their role's golden
 * image parameter.
 *
 * A bake takes a minute, so its result — the image's layer over the base image — is cached per machine, keyed by
 * everything that makes it (the base image, both archives, the bake's code, the boot files, the pool's node and image
 * settings); a later lab registers the cached layer as an AMI of its own emulator (RegisterImage) instead of baking.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { awsClientSettings } from "../../ops/aws/client-config";
import { labCacheDir, withCacheLock } from "./cache";

export interface ReleasePin {
  readonly file: string;
  readonly sha256: string;
}

export interface GoldenImageInputs {
  readonly repoDir: string;
  readonly labDir: string;
  readonly awsEndpoint: string;
  readonly region: string;
  readonly poolName: string;
  readonly baseImageKey: string;
  readonly baseLayer: string;
  readonly nodeVersion: string;
  readonly nodeRelease: ReleasePin;
  readonly exporterRelease: ReleasePin & { readonly version: string };
  /** The pool config text the bake runs with (sandbox enabled), and the inventory naming the sandbox. */
  readonly bakeConfigFile: string;
  readonly bakeInventoryFile: string;
  readonly knownHostsFile: string;
  readonly identityFile: string;
  /** The node and image sections of the pool config, as they shape the image. */
  readonly settings: unknown;
  /** Launches the sandbox (when a bake is needed) and returns its instance id once it answers SSH. */
  readonly launchSandbox: () => Promise<string>;
  readonly log: (line: string) => void;
  /** Registers an image's layers with the lab's hypervisor. */
  readonly registerLayers: (imageId: string, layers: readonly string[]) => Promise<void>;
  /**
   * Record a cached image in `/<pool>/ami/{relay,producer}` (the quick deploy makes those parameters; a cdktf deploy
   * creates them itself, so it must find none). @default true
   */
  readonly recordParameters?: boolean;
}

/** No bake is cached for these inputs, and the caller cannot bake (it has no sandbox). */
export class GoldenImageNotCached extends Error {
  override name = "GoldenImageNotCached";
}

/** Files whose content shapes the image: the bake's code and what the sandbox boots with. */
function sourcesDigest(repoDir: string): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (!entry.endsWith(".test.ts")) hash.update(relative(repoDir, path)).update(readFileSync(path));
    }
  };
  for (const dir of ["ops/image", "stacks/boot"]) walk(join(repoDir, dir));
  hash.update(readFileSync(join(repoDir, "ops/commands/image.ts")));
  return hash.digest("hex");
}

function goldenKey(inputs: GoldenImageInputs): string {
  return createHash("sha256")
    .update(JSON.stringify({ base: inputs.baseImageKey, node: inputs.nodeRelease.sha256, exporter: inputs.exporterRelease.sha256, version: inputs.nodeVersion, settings: inputs.settings }))
    .update(sourcesDigest(inputs.repoDir))
    .digest("hex")
    .slice(0, 20);
}

async function ssmGet(inputs: GoldenImageInputs, name: string): Promise<string> {
  const { SSMClient, GetParameterCommand } = await import("@aws-sdk/client-ssm");
  const ssm = new SSMClient(awsClientSettings({ region: inputs.region, endpoint: inputs.awsEndpoint }));
  try {
    return (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value ?? "";
  } finally {
    ssm.destroy();
  }
}

/** Registers the cached layer as an image of this lab's emulator and records it in the golden-image parameters. */
async function registerCached(inputs: GoldenImageInputs, layer: string, meta: { name: string; tags: Record<string, string> }): Promise<string> {
  const { EC2Client, RegisterImageCommand, CreateTagsCommand } = await import("@aws-sdk/client-ec2");
  const { SSMClient, PutParameterCommand } = await import("@aws-sdk/client-ssm");
  const settings = awsClientSettings({ region: inputs.region, endpoint: inputs.awsEndpoint });
  const ec2 = new EC2Client(settings);
  const ssm = new SSMClient(settings);
  try {
    const made = await ec2.send(new RegisterImageCommand({ Name: meta.name, Architecture: "x86_64", RootDeviceName: "/dev/xvda", VirtualizationType: "hvm", EnaSupport: true }));
    const imageId = made.ImageId!;
    await ec2.send(new CreateTagsCommand({ Resources: [imageId], Tags: Object.entries(meta.tags).map(([Key, Value]) => ({ Key, Value })) }));
    await inputs.registerLayers(imageId, [inputs.baseLayer, layer]);
    if (inputs.recordParameters !== false) {
      for (const role of ["relay", "producer"]) await ssm.send(new PutParameterCommand({ Name: `/${inputs.poolName}/ami/${role}`, Value: imageId, Type: "String", Overwrite: true }));
    }
    return imageId;
  } finally {
    ec2.destroy();
    ssm.destroy();
  }
}

function runBake(inputs: GoldenImageInputs): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(inputs.repoDir, "bin", "pool-ops.mjs"), "image", "bake", "--node-version", inputs.nodeVersion, "--yes", "--aws-endpoint", inputs.awsEndpoint],
      {
        cwd: inputs.repoDir,
        env: {
          ...process.env,
          NO_COLOR: "1",
          POOL_CONFIG: inputs.bakeConfigFile,
          POOL_OPS_INVENTORY: inputs.bakeInventoryFile,
          POOL_OPS_KNOWN_HOSTS: inputs.knownHostsFile,
          POOL_OPS_IDENTITY: inputs.identityFile,
          POOL_OPS_AUDIT_LOG: join(inputs.labDir, "audit.log"),
          POOL_OPS_STATE_DIR: join(inputs.labDir, "pool-ops-state"),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** The golden AMI of this lab (baked now, or the cached bake registered), recorded in the golden-image parameters. */
export async function labGoldenImage(inputs: GoldenImageInputs): Promise<string> {
  const key = goldenKey(inputs);
  const dir = join(labCacheDir(), `golden-${key}`);
  const layer = join(dir, "layer");
  const metaFile = join(dir, "meta.json");
  return withCacheLock(`golden-${key}`, async () => {
    if (existsSync(metaFile)) {
      inputs.log(`golden image: the cached bake ${key}`);
      return registerCached(inputs, layer, JSON.parse(readFileSync(metaFile, "utf8")) as { name: string; tags: Record<string, string> });
    }
    inputs.log(`golden image: baking cardano-node ${inputs.nodeVersion} on a sandbox (once per machine and recipe)`);
    await inputs.launchSandbox();
    const bake = await runBake(inputs);
    if (bake.code !== 0) throw new Error(`pool-ops image bake failed on the lab's sandbox (exit ${bake.code}):\n${bake.output.slice(-4000)}`);
    const imageId = await ssmGet(inputs, `/${inputs.poolName}/ami/relay`);
    const baked = join(inputs.labDir, "images", imageId);
    if (!imageId || !existsSync(baked)) throw new Error(`image bake recorded ${JSON.stringify(imageId)}, which the lab's hypervisor did not image`);
    const { EC2Client, DescribeImagesCommand } = await import("@aws-sdk/client-ec2");
    const ec2 = new EC2Client(awsClientSettings({ region: inputs.region, endpoint: inputs.awsEndpoint }));
    let meta: { name: string; tags: Record<string, string> };
    try {
      const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
      meta = { name: image?.Name ?? `${inputs.poolName}-node-${inputs.nodeVersion}`, tags: Object.fromEntries((image?.Tags ?? []).map((t) => [t.Key!, t.Value!])) };
    } finally {
      ec2.destroy();
    }
    const staging = `${dir}.building`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    execFileSync("cp", ["-a", "--reflink=auto", baked, join(staging, "layer")]);
    writeFileSync(join(staging, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    return imageId;
  });
}
