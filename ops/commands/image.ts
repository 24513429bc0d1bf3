/**
 * `pool-ops image bake --node-version X`: the golden image. The sandbox (nodes stack, `sandbox.enabled: true`) is
 * started through EC2, the cardano-node release and node_exporter are staged on it and checked against the SHA-256
 * the pool config pins, installed — the release's node files (`share/<network>/`: config, topology, genesis files,
 * peer snapshot) with the binaries, checked against the pool's genesis hashes —, version-checked, the boot's tools
 * (AWS CLI, python3, curl) checked, and smoke-tested; the sandbox is searched for key material (any
 * find stops the bake before an image exists); the scratch files go; the sandbox is stopped and imaged (root volume
 * only, tagged with pool, versions and date); once the AMI is available it is recorded in `/<pool>/ami/relay` and
 * `/<pool>/ami/producer`, which `image rollout` and new instances read.
 *
 * The pool's running nodes are never touched: a failed or interrupted bake leaves them as they were, the AMI
 * parameters unchanged, and the sandbox stopped (unless --keep-sandbox).
 */
import { Command, InvalidArgumentError } from "commander";
import { dirname } from "node:path";
import { CHAIN_VOLUME_DEVICE } from "../../config/host-layout";
import { PoolConfigError } from "../../config/load";
import { nodeVersionLine, NodeVersionError } from "../../config/node-versions";
import { poolParameterNames } from "../../config/names";
import { GoldenImageError, GoldenImages, NODE_IMAGE_ROLES } from "../aws/golden-images";
import { EXIT_ABORTED, EXIT_OK, opsAction, type OpsContext } from "../context";
import {
  checkBootTools,
  checkReleaseShare,
  checkVersions,
  findKeyMaterial,
  installFromArchive,
  installReleaseShare,
  readLocalArchive,
  forgetInstance,
  installExporterService,
  removeWorkDir,
  smokeTest,
  stageArchive,
  workDir,
  type ArchiveSource,
  type InstalledVersions,
} from "../image/sandbox-steps";
import { Interrupted, StepControl } from "../pool/step-control";
import { NO_LEASE, type LeaseGuard } from "../lease/lease-guard";
import { leaseWaitOption, type LeaseOptions } from "../lease/wait-option";
import { withPoolLease } from "../lease/with-lease";
import { rollout, type RolloutOptions } from "./image-rollout";
import type { Connection } from "../remote/connection";
import { connectToNewInstance } from "../image/connect-new-instance";
import { BAKE_COMMAND, bakeFacts, finishInterruptedBake, type BakeFacts } from "../image/bake-recovery";
import { thisProcess } from "../lease/lease-record";
import { registerRecovery } from "../lease/recoveries";
import type { InventoryHost } from "../remote/inventory";
import { GroupResult, OpsError } from "../remote/result";
import { shellQuote } from "../remote/shell";

export interface BakeOptions {
  readonly nodeVersion: string;
  readonly keepSandbox?: boolean;
}

interface BakePlan {
  readonly sandbox: InventoryHost;
  readonly node: ArchiveSource & { readonly field: string; readonly local?: Buffer };
  readonly exporter: ArchiveSource & { readonly field: string; readonly version: string; readonly local?: Buffer };
  readonly parameters: Record<(typeof NODE_IMAGE_ROLES)[number], string>;
}

/** Everything checked before anything changes: the release is pinned, local archives match, a sandbox exists. */
async function planBake(ctx: OpsContext, options: BakeOptions): Promise<BakePlan> {
  const config = ctx.config;
  // What the config lacks, or a version the pool cannot run, is a config error (exit 2), each named by its field.
  const problems: string[] = [];
  try {
    nodeVersionLine(options.nodeVersion);
  } catch (error) {
    if (!(error instanceof NodeVersionError)) throw error;
    problems.push(`--node-version: ${error.message.replace(/^node\.version:? ?/, "")}`);
  }
  const release = config.image.nodeReleases[options.nodeVersion];
  if (!release) {
    const known = Object.keys(config.image.nodeReleases);
    problems.push(
      `image.nodeReleases has no entry for cardano-node ${options.nodeVersion} (${known.length > 0 ? `listed: ${known.join(", ")}` : "none listed"}): ` +
        `add image.nodeReleases."${options.nodeVersion}" = {url: <release .tar.gz>, sha256: <from the release's checksums>}`,
    );
  }
  if (problems.length > 0 || !release) throw new PoolConfigError(ctx.configPath, problems);
  const exporter = config.image.nodeExporter;
  if (!exporter) {
    throw new PoolConfigError(ctx.configPath, ["image.nodeExporter is not set: add {version, url, sha256} of node_exporter's linux-amd64 .tar.gz"]);
  }
  const inventory = await ctx.inventory();
  const sandbox = inventory.hosts.find((h) => h.role === "sandbox");
  if (!sandbox) {
    throw new OpsError("-", "preflight", "the inventory has no sandbox host", "set sandbox.enabled: true in the pool config, `cdktf deploy nodes`, and use the new inventory output");
  }
  const configDir = dirname(ctx.configPath);
  const nodeField = `image.nodeReleases."${options.nodeVersion}"`;
  const names = poolParameterNames(inventory.pool);
  return {
    sandbox,
    node: { ...release, field: nodeField, ...(release.file ? { local: readLocalArchive(release, nodeField, configDir) } : {}) },
    exporter: { ...exporter, field: "image.nodeExporter", ...(exporter.file ? { local: readLocalArchive(exporter, "image.nodeExporter", configDir) } : {}) },
    parameters: { relay: names.goldenAmi("relay"), producer: names.goldenAmi("producer") },
  };
}

function imageName(pool: string, nodeVersion: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  return `${pool}-node-${nodeVersion}-${stamp}`;
}

/** `lease`: the pool's lease the command holds (withPoolLease); every step checks it is still held. */
export async function bake(ctx: OpsContext, options: BakeOptions, lease: LeaseGuard = NO_LEASE): Promise<number> {
  const started = Date.now();
  const config = ctx.config;
  const plan = await planBake(ctx, options);
  const inventory = await ctx.inventory();
  const images = new GoldenImages(ctx.awsTarget);
  const timeoutMs = config.image.timeoutSeconds * 1000;
  let sandboxConnection: Connection | undefined;
  const control = new StepControl(lease);
  /** Whether the parameters were being written: a failure then may have left one of them new. */
  let recording = false;
  try {
    const state = await images.instanceState(plan.sandbox.instanceId).catch((error: Error) => {
      throw new OpsError(plan.sandbox.name, "preflight", error.message, "check the inventory's sandbox instance id, AWS credentials and region");
    });
    const previous = Object.fromEntries(await Promise.all(NODE_IMAGE_ROLES.map(async (role) => [role, (await images.readParameter(plan.parameters[role])) ?? "unset"] as const)));
    const summary =
      `bake cardano-node ${options.nodeVersion} and node_exporter ${plan.exporter.version} on ${plan.sandbox.name} (${plan.sandbox.instanceId}, now ${state}), ` +
      `image it, and record the AMI in ${plan.parameters.relay} and ${plan.parameters.producer} (now ${previous.relay}, ${previous.producer})`;
    if (ctx.dryRun) {
      if (ctx.out.json) ctx.out.data({ dryRun: true, sandbox: plan.sandbox.name, instanceId: plan.sandbox.instanceId, state, nodeVersion: options.nodeVersion, exporterVersion: plan.exporter.version, parameters: plan.parameters, previous });
      else ctx.out.info(`dry run: would ${summary}; nothing changed`);
      return EXIT_OK;
    }
    if (!ctx.out.json) ctx.out.info(summary);
    await ctx.confirm(`bake a golden image with cardano-node ${options.nodeVersion}?`);
    control.install();
    const step = (text: string) => {
      if (!ctx.out.json) ctx.out.info(`  ${text}`);
    };
    // An interrupted bake (this command's own, so the lease's recovery left it here) is finished first.
    const unfinished = await lease.journal?.read();
    if (unfinished?.command === BAKE_COMMAND) {
      for (const line of await finishInterruptedBake(bakeFacts(unfinished), images, timeoutMs)) ctx.out.warn(`pool-ops: the interrupted image bake: ${line}`);
      await lease.journal?.clear();
    }
    // The journal beside the lease: a bake killed from here on is finished by the next changing command.
    const startedAt = new Date(started).toISOString();
    const journalFacts = { sandbox: plan.sandbox.instanceId, sandboxName: plan.sandbox.name, parameters: plan.parameters };
    const journal = (at: string, facts: Partial<BakeFacts> = {}) => lease.journal?.write({ command: BAKE_COMMAND, step: at, startedAt, holder: thisProcess(), facts: { ...journalFacts, ...facts } });
    await journal("start-sandbox");

    await control.checkpoint("start-sandbox");
    const startedSandbox = await images.ensureRunning(plan.sandbox.instanceId, timeoutMs);
    step(`${plan.sandbox.name}: ${startedSandbox ? "started" : "already running"}`);
    // A sandbox baked before has new host keys since (the bake made its image forget the instance): learnt from its console.
    const c = (sandboxConnection = await connectToNewInstance(ctx, ctx.awsTarget, { host: plan.sandbox, instanceId: plan.sandbox.instanceId, what: "the sandbox", rerun: "bake again" }, timeoutMs));

    await control.checkpoint("stage");
    await c.runChecked(`install -d -m 0755 ${shellQuote(workDir(config))}`, { step: "stage archives" });
    await stageArchive(c, config, plan.node, "cardano-node.tar.gz", plan.node.field, plan.node.local);
    await stageArchive(c, config, plan.exporter, "node_exporter.tar.gz", plan.exporter.field, plan.exporter.local);
    step("archives staged, SHA-256 verified on the sandbox");

    await control.checkpoint("install");
    await installFromArchive(c, config, "cardano-node.tar.gz", ["cardano-node", "cardano-cli"], config.node.binDir, plan.node.field);
    await installReleaseShare(c, config, "cardano-node.tar.gz", plan.node.field);
    await checkReleaseShare(c, { ...config, node: { ...config.node, version: options.nodeVersion } });
    step(`node files of ${config.network} installed from the release; genesis hashes match the pool's`);
    await installFromArchive(c, config, "node_exporter.tar.gz", ["node_exporter"], config.image.exporterBinDir, plan.exporter.field);
    await installExporterService(c, config);
    await checkBootTools(c, config);
    const versions: InstalledVersions = await checkVersions(c, config, { node: options.nodeVersion, exporter: plan.exporter.version });
    step(`installed cardano-node ${versions.node}, cardano-cli ${versions.cli}, node_exporter ${versions.exporter}`);

    await control.checkpoint("smoke-test");
    await smokeTest(c, config);
    step("smoke test passed");

    await control.checkpoint("key-check");
    await removeWorkDir(c, config);
    const found = await findKeyMaterial(c, config);
    if (found.length > 0) {
      throw new OpsError(plan.sandbox.name, "key check", `key material on the sandbox, so no image was made: ${found.join(", ")}`, "remove it from the sandbox (keys live in Secrets Manager and on the producers only) and bake again");
    }
    step("no key material on the sandbox");
    await forgetInstance(c, config);
    step("the sandbox's own state removed (cloud-init, host keys, login keys, its chain volume's fstab line, machine id)");
    await sandboxConnection.close();
    sandboxConnection = undefined;

    await control.checkpoint("image");
    // A stopped instance images with a clean filesystem (no reboot mid-write).
    await images.stop(plan.sandbox.instanceId, timeoutMs);
    const bakedAt = new Date();
    const name = imageName(inventory.pool, options.nodeVersion, bakedAt);
    await journal("image", { imageName: name });
    const imageId = await images.createImage(
      plan.sandbox.instanceId,
      name,
      `cardano-node ${versions.node} (cli ${versions.cli}), node_exporter ${versions.exporter}, baked by pool-ops for ${inventory.pool}`,
      { Name: name, Pool: inventory.pool, Role: "node", NodeVersion: versions.node, CliVersion: versions.cli, NodeExporterVersion: versions.exporter, BakedAt: bakedAt.toISOString(), BakedBy: "pool-ops image bake" },
      [CHAIN_VOLUME_DEVICE],
    );
    await journal("image", { imageName: name, imageId });
    step(`image ${imageId} (${name}) created; waiting until it is available`);
    await images.waitAvailable(imageId, timeoutMs);

    // Recorded only once usable: rollout and new instances never see an image that is still pending.
    await journal("record", { imageName: name, imageId });
    recording = true;
    await control.checkpoint("record");
    for (const role of NODE_IMAGE_ROLES) await images.writeParameter(plan.parameters[role], imageId);
    await lease.journal?.clear();
    control.uninstall();
    const result = { host: plan.sandbox.name, status: "changed" as const, exitCode: 0, stdout: "", stderr: "", durationMs: Date.now() - started, detail: { imageId } };
    await ctx.audit(new GroupResult([result], Date.now() - started), { imageId, name, versions, parameters: plan.parameters, previous });
    if (ctx.out.json) ctx.out.data({ imageId, name, versions, parameters: plan.parameters, previous, sandbox: "stopped" });
    else ctx.out.info(`golden image ${imageId} recorded in ${plan.parameters.relay} and ${plan.parameters.producer} (were ${previous.relay}, ${previous.producer}); ${plan.sandbox.name} stopped. Next: pool-ops image rollout`);
    return EXIT_OK;
  } catch (error) {
    control.uninstall();
    await sandboxConnection?.close();
    let note = recording ? "the AMI parameters may be half-written: the next changing command records the image in both" : "the AMI parameters are unchanged";
    let stoppedAsIntended = options.keepSandbox === true;
    if (!ctx.dryRun && !options.keepSandbox) {
      const stopped = await images.stop(plan.sandbox.instanceId, timeoutMs).then(
        () => {
          stoppedAsIntended = true;
          return `${plan.sandbox.name} stopped`;
        },
        (e: Error) => `${plan.sandbox.name} could not be stopped (${e.message}): the next changing command stops it`,
      );
      note += `; ${stopped}`;
    } else if (options.keepSandbox) note += `; ${plan.sandbox.name} left running (--keep-sandbox)`;
    // Back as before (nothing recorded, the sandbox as asked): nothing for the next command to finish.
    if (!ctx.dryRun && !recording && stoppedAsIntended) await lease.journal?.clear().catch(() => undefined);
    if (error instanceof Interrupted) {
      ctx.out.warn(`pool-ops: image bake ${error.message}: no image was recorded; ${note}`);
      return EXIT_ABORTED;
    }
    if (error instanceof GoldenImageError) throw new OpsError(plan.sandbox.name, "image", `${error.message}; ${note}`, "check the EC2 console and bake again");
    if (error instanceof OpsError) throw new OpsError(error.host, error.step, `${error.message}; ${note}`, error.remedy, error.status);
    throw error;
  } finally {
    images.close();
  }
}

// Another changing command after a killed bake: its image recorded (if it made one) and the sandbox stopped.
registerRecovery(
  BAKE_COMMAND,
  async (ctx, entry) => {
    const images = new GoldenImages(ctx.awsTarget);
    try {
      for (const line of await finishInterruptedBake(bakeFacts(entry), images, ctx.config.image.timeoutSeconds * 1000)) ctx.out.warn(`pool-ops: the interrupted image bake: ${line}`);
      return EXIT_OK;
    } finally {
      images.close();
    }
  },
  { ownRunFinishes: true },
);

function version(value: string): string {
  if (!/^\d+\.\d+\.\d+$/.test(value)) throw new InvalidArgumentError("expected a version such as 11.1.3");
  return value;
}

export function imageCommand(): Command {
  const image = new Command("image").description("golden images: bake one on the sandbox; roll it out node by node");
  image
    .command("bake")
    .description("install and check a cardano-node release on the sandbox, search it for keys, image it, record the AMI in SSM")
    .requiredOption("--node-version <version>", "cardano-node version to bake (listed in image.nodeReleases)", version)
    .option("--keep-sandbox", "leave the sandbox running when the bake fails (to look at it)")
    .addOption(leaseWaitOption())
    .action(opsAction(async (ctx, options: BakeOptions & LeaseOptions) => withPoolLease(ctx, "image bake", options, (lease) => bake(ctx, options, lease))));
  image
    .command("rollout")
    .description("replace relays, then the standby, promote, then the old leader with the golden image: one node at a time, health-gated, resumable")
    .option("--image <ami>", "roll out this AMI (default: the /<pool>/ami/relay and /<pool>/ami/producer parameters)")
    .option("--stacks <dir>", "cdktf's output directory with the synthesised stacks (default cdktf.out)")
    .option("--promote-back", "promote the old leader back once it runs the new image")
    .option("--restart", "discard an unfinished rollout's journal of another image and start over")
    .option("--abandon", "drop an unfinished rollout's journal and change nothing (the pool stays as it left it)")
    .addOption(leaseWaitOption())
    .action(opsAction(async (ctx, options: RolloutOptions & LeaseOptions) => withPoolLease(ctx, "image rollout", options, (lease) => rollout(ctx, options, lease))));
  return image;
}
