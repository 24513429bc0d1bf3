/**
 * `pool-ops push-config`: read each host's installed release (its `share/<network>/` node files: ops/pool/release-facts.ts),
 * refuse every host whose release lacks them or whose genesis does not hash to the pool's, render every node's files
 * from the release plus the pool config (render/node-files.ts), compare with what each host has, show a unified diff
 * per host, then write the changed files atomically (previous versions backed up
 * on the host) and apply them in a rolling, health-gated order: relays `pushConfig.relaysAtOnce` at a time, then the
 * standby producer, the leader last. Topology and extra files take a SIGHUP; config, environment or unit changes a
 * restart. A host that is not healthy afterwards gets its previous files back, is reloaded again, and the roll stops.
 * A standby never gets credential flags: its environment file is the standby one (render/node-args.ts).
 */
import { Command } from "commander";
import { createTwoFilesPatch } from "diff";
import { dirname } from "node:path";
import { hostLayout, nodeFileModes } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import { LeaderParameter, LeaderParameterError } from "../aws/leader-parameter";
import { EXIT_ABORTED, EXIT_HOST_FAILURE, EXIT_OK, EXIT_USAGE, opsAction, type OpsContext } from "../context";
import { waitHealthy, type NodeHealth } from "../pool/health";
import { Interrupted, StepControl } from "../pool/step-control";
import { LeaseLost } from "../lease/lease-errors";
import { NO_LEASE, type LeaseGuard } from "../lease/lease-guard";
import { leaseWaitOption, type LeaseOptions } from "../lease/wait-option";
import { thisProcess } from "../lease/lease-record";
import { registerRecovery } from "../lease/recoveries";
import { withPoolLease } from "../lease/with-lease";
import type { Connection } from "../remote/connection";
import type { InventoryHost } from "../remote/inventory";
import { GroupResult, OpsError, type Result } from "../remote/result";
import { renderNodeFiles, RenderError, sameContent, type FileEffect, type NodeFile } from "../../render/node-files";
import { checkedRelease, ReleaseFilesError, type ReleaseNodeFiles } from "../../render/release-files";
import { readReleaseFacts } from "../pool/release-facts";

/** The per-boot unit cardano-node.service requires (stacks/boot/pool-node-boot.service, written by cloud-init). */
const BOOT_UNIT = "/etc/systemd/system/pool-node-boot.service";

interface PushOptions {
  readonly reload: boolean;
  readonly leader?: string;
  /**
   * Hosts an interrupted push was applying (its journal beside the lease): their files may be in place with the node
   * not yet restarted onto them, so a diff would show nothing to do. They are restarted (and health-gated) whatever
   * the diff says. @default none
   */
  readonly unapplied?: readonly string[];
}

interface FileChange {
  readonly file: NodeFile;
  /** undefined: the file does not exist on the host yet. */
  readonly before: string | undefined;
  readonly diff: string;
}

interface HostPlan {
  readonly host: InventoryHost;
  readonly changes: FileChange[];
  /** An interrupted push was applying this host: restart it even when its files are already the new ones. */
  readonly unapplied?: boolean;
}

async function leaderOf(ctx: OpsContext, producers: string[], explicit: string | undefined): Promise<string> {
  if (explicit) {
    if (!producers.includes(explicit)) throw new OpsError("-", "check arguments", `--leader ${explicit} is not a producer`, `use one of ${producers.join(", ")}`);
    return explicit;
  }
  const inventory = await ctx.inventory();
  if (!inventory.parameters.leader) throw new OpsError("-", "find the leader", "the inventory names no leader parameter", "give --leader producer-N");
  const parameter = new LeaderParameter(ctx.awsTarget, inventory.parameters.leader, producers);
  try {
    return await parameter.read();
  } catch (error) {
    if (error instanceof LeaderParameterError) throw new OpsError("-", "find the leader", error.message, "check AWS credentials (--aws-endpoint for the emulator), or give --leader producer-N");
    throw error;
  } finally {
    parameter.close();
  }
}

function strongest(effects: FileEffect[]): FileEffect {
  return effects.includes("restart") ? "restart" : effects.includes("reload") ? "reload" : "none";
}

/**
 * Where a missing parent directory of a pushed file is made: inside the node home as the node's read-only directories
 * are (root's, the node's group: config/host-layout.ts), elsewhere root's 0755 as any system directory.
 */
function parentDirectory(config: PoolConfig, path: string) {
  const layout = hostLayout(config);
  return path.startsWith(`${layout.home}/`) ? nodeFileModes(config).readOnlyDir : { owner: "root", group: "root", mode: 0o755 };
}

/**
 * The apply step on one host: backups, atomic writes, then SIGHUP or restart. Every file operation is root's through
 * ops/remote/safe-files.py (a backup is a copy into a root-only directory, a write a rename from one): none follows a
 * link the node user may have planted, at the file, its backup or a directory on the way.
 */
async function applyHost(config: PoolConfig, c: Connection, plan: HostPlan, backupDir: string, reload: boolean): Promise<FileEffect> {
  const step = "back up the current files";
  const existing = [...plan.changes.entries()].filter(([, change]) => change.before !== undefined);
  const { absent } = await c.backupFiles(backupDir, existing.map(([i, change]) => ({ path: change.file.path, as: String(i) })), { step });
  // Read a moment ago and gone now: someone else changed the host (cp would have failed here too).
  if (absent.length > 0) throw new OpsError(c.name, step, `${absent.join(", ")} disappeared after it was read`, "look at what else changes this host, then push again");
  for (const dir of new Set(plan.changes.map((change) => dirname(change.file.path)))) {
    await c.ensureDirectory(dir, { ...parentDirectory(config, dir), step });
  }
  for (const change of plan.changes) {
    await c.put(change.file.path, change.file.content, { owner: change.file.owner, group: change.file.group, mode: change.file.mode, backup: false, step: `write ${change.file.path}` });
  }
  const effect = plan.unapplied ? "restart" : strongest(plan.changes.map((ch) => ch.file.effect));
  if (reload) await applyEffect(config, c, effect, plan.unapplied === true || plan.changes.some((ch) => ch.file.path === hostLayout(config).unitFile));
  return effect;
}

async function applyEffect(config: PoolConfig, c: Connection, effect: FileEffect, unitChanged: boolean): Promise<void> {
  if (effect === "none") return;
  if (unitChanged) await c.runChecked("if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi", { step: "systemd daemon-reload" });
  await c.runChecked(effect === "restart" ? config.node.service.restart : config.node.service.reload, { step: effect === "restart" ? "restart the node" : "reload the node (SIGHUP)" });
}

/**
 * Puts the previous files back (removing files that did not exist before) and applies them again. Each comes back
 * from the root-only backup directory through a staging file and a rename; a link planted where a file goes back is
 * refused, one where a new file was is removed, never followed.
 */
async function restoreHost(config: PoolConfig, c: Connection, plan: HostPlan, backupDir: string): Promise<string> {
  const files = [...plan.changes.entries()].map(([i, change]) => ({ path: change.file.path, from: String(i), absent: change.before === undefined }));
  try {
    await c.restoreFiles(backupDir, files, { step: "restore the previous files" });
    await applyEffect(config, c, strongest(plan.changes.map((ch) => ch.file.effect)), plan.changes.some((ch) => ch.file.path === hostLayout(config).unitFile));
    const health = await waitHealthy(config, c, config.pushConfig.healthTimeoutSeconds * 1000);
    return health.healthy ? "previous files restored and applied; healthy again" : `previous files restored and applied, still unhealthy: ${health.problem}`;
  } catch (error) {
    return `could NOT restore: ${(error as Error).message} (backups in ${backupDir} on the host)`;
  }
}

/** `lease`: the pool's lease the command holds (withPoolLease); every host's step checks it is still held. */
export async function pushConfig(ctx: OpsContext, options: PushOptions, lease: LeaseGuard = NO_LEASE): Promise<number> {
  const config = ctx.config;
  const inventory = await ctx.inventory();
  const nodes = inventory.hosts.filter((h) => h.role === "relay" || h.role === "producer");
  const chosen = (await ctx.selectedHosts({ roles: ["relay", "producer"] })).filter((h) => h.role === "relay" || h.role === "producer");
  // An interrupted push's hosts are finished whatever this run selects.
  const unapplied = new Set(options.unapplied ?? []);
  const selected = [...chosen, ...nodes.filter((h) => unapplied.has(h.name) && !chosen.some((c) => c.name === h.name))];
  if (selected.length === 0) throw new OpsError("select hosts", "select hosts", "no relay or producer selected", "push-config writes node files: select relays or producers");
  const producers = nodes.filter((h) => h.role === "producer").map((h) => h.name);
  const leader = await leaderOf(ctx, producers, options.leader);

  // Each host's installed release: every host must be able to run the pool before any is touched.
  const fleet = await ctx.fleet();
  const releases = new Map<string, ReleaseNodeFiles>();
  const refused: string[] = [];
  for (const host of selected) {
    try {
      const c = fleet.connection(host.name);
      releases.set(host.name, checkedRelease(config, await readReleaseFacts(c, config)));
      // The unit requires the per-boot unit (node files, leader guard); a host booted before it existed lacks it, and
      // its node would not start. Only a systemd host can tell (the lab's hosts have none).
      const boot = await c.run(`[ ! -d /run/systemd/system ] || [ -e ${BOOT_UNIT} ]`, { sudo: false, step: "check the per-boot unit" });
      if (boot.exitCode !== 0) refused.push(`${host.name}: ${BOOT_UNIT} is missing (the host was made before it existed): replace it with pool-ops image rollout, whose new instances get it from their user data`);
    } catch (error) {
      if (error instanceof ReleaseFilesError) refused.push(`${host.name}: ${error.message}`);
      else throw error;
    }
  }
  if (refused.length > 0) {
    throw new OpsError(
      refused.map((r) => r.split(":")[0]).join(", "),
      "check the installed release",
      `refused, nothing was written to any host:\n  ${refused.join("\n  ")}`,
      `bake and roll out an image of cardano-node ${config.node.version} (pool-ops image bake, image rollout), or set node.version to what the hosts run`,
    );
  }

  // Render and validate everything before touching any host.
  const rendered = new Map<string, NodeFile[]>();
  try {
    for (const host of selected) rendered.set(host.name, renderNodeFiles(config, nodes, host, { leader, release: releases.get(host.name)!, configDir: dirname(ctx.configPath) }));
  } catch (error) {
    if (error instanceof RenderError) {
      ctx.out.warn(`pool-ops: push-config: ${error.message}\n  nothing was written to any host`);
      return EXIT_USAGE;
    }
    throw error;
  }

  // What each host has now.
  const plans: HostPlan[] = [];
  for (const host of selected) {
    const c = fleet.connection(host.name);
    const changes: FileChange[] = [];
    for (const file of rendered.get(host.name)!) {
      const before = await c.readText(file.path, { step: `read ${file.path}` });
      if (before !== undefined && sameContent(file.path, before, file.content)) continue;
      changes.push({ file, before, diff: createTwoFilesPatch(`${host.name}:${file.path}`, `${host.name}:${file.path} (new)`, before ?? "", file.content, before === undefined ? "(absent)" : "", "", { context: 3 }) });
    }
    plans.push({ host, changes, unapplied: unapplied.has(host.name) });
  }
  const changed = plans.filter((p) => p.changes.length > 0 || p.unapplied);
  if (ctx.out.json && ctx.dryRun) {
    ctx.out.data({ dryRun: true, leader, hosts: plans.map((p) => ({ host: p.host.name, changed: p.changes.map((ch) => ({ path: ch.file.path, effect: ch.file.effect, created: ch.before === undefined, diff: ch.diff })) })) });
    return EXIT_OK;
  }
  if (!ctx.out.json) {
    for (const p of plans) {
      if (p.changes.length === 0) ctx.out.info(p.unapplied ? `${p.host.name}: its files are in place from the interrupted push, its node not confirmed on them → restart` : `${p.host.name}: no changes`);
      else {
        ctx.out.info(`${p.host.name}: ${p.changes.length} file(s) change → ${strongest(p.changes.map((ch) => ch.file.effect))}`);
        for (const ch of p.changes) ctx.out.info(ch.diff);
      }
    }
  }
  if (changed.length === 0) {
    if (ctx.out.json) ctx.out.data({ changed: [], leader });
    else ctx.out.info("every host already has its files: nothing to do");
    return EXIT_OK;
  }
  if (ctx.dryRun) {
    ctx.out.info(`dry run: ${changed.length} host(s) would change; nothing written`);
    return EXIT_OK;
  }
  await ctx.confirm(`write the files above to ${changed.map((p) => p.host.name).join(", ")} and ${options.reload ? "reload or restart them one by one" : "NOT reload them (--no-reload)"}?`);

  // Rolling order: relays in batches, then the standby, the leader last.
  const relays = changed.filter((p) => p.host.role === "relay");
  const batches: HostPlan[][] = [];
  for (let i = 0; i < relays.length; i += config.pushConfig.relaysAtOnce) batches.push(relays.slice(i, i + config.pushConfig.relaysAtOnce));
  const standbyPlan = changed.find((p) => p.host.role === "producer" && p.host.name !== leader);
  const leaderPlan = changed.find((p) => p.host.name === leader);
  if (standbyPlan) batches.push([standbyPlan]);
  if (leaderPlan) batches.push([leaderPlan]);

  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const backupDir = `${hostLayout(config).backupDir}/${stamp}-push-config`;
  const results: Result[] = [];
  const control = new StepControl(lease).install();
  let stopped: string | undefined;
  const startedAt = new Date().toISOString();
  try {
    for (const batch of batches) {
      const step = `push-${batch.map((p) => p.host.name).join("+")}`;
      // Beside the lease, before the batch is touched: a push killed from here on is finished by the next changing
      // command (ops/lease/recoveries.ts), which restarts these hosts onto whatever files they hold.
      await lease.journal?.write({ command: "push-config", step, startedAt, holder: thisProcess(), facts: { reload: options.reload, leader: options.leader ?? null, unapplied: batch.map((p) => p.host.name) } });
      await control.checkpoint(step);
      const outcomes = await Promise.all(
        batch.map(async (plan) => {
          const c = fleet.connection(plan.host.name);
          const started = Date.now();
          try {
            const effect = await applyHost(config, c, plan, backupDir, options.reload);
            const health: NodeHealth = options.reload ? await waitHealthy(config, c, config.pushConfig.healthTimeoutSeconds * 1000) : { healthy: true };
            if (health.healthy) return { plan, ok: true as const, effect, durationMs: Date.now() - started };
            const restored = await restoreHost(config, c, plan, backupDir);
            return { plan, ok: false as const, message: `unhealthy after ${effect}: ${health.problem}; ${restored}`, durationMs: Date.now() - started };
          } catch (error) {
            const restored = await restoreHost(config, c, plan, backupDir);
            return { plan, ok: false as const, message: `${(error as Error).message}; ${restored}`, durationMs: Date.now() - started };
          }
        }),
      );
      for (const o of outcomes) {
        results.push(
          o.ok
            ? { host: o.plan.host.name, status: "changed", exitCode: 0, stdout: "", stderr: "", durationMs: o.durationMs, detail: { files: o.plan.changes.map((ch) => ch.file.path), effect: o.effect } }
            : { host: o.plan.host.name, status: "failed", exitCode: null, stdout: "", stderr: "", durationMs: o.durationMs, error: { step: "push", message: o.message, remedy: "fix the config; the previous files are back" } },
        );
        if (!ctx.out.json) ctx.out.info(o.ok ? `${o.plan.host.name}: ${o.effect === "none" ? "written" : o.effect === "reload" ? "written, reloaded" : "written, restarted"}, healthy` : `${o.plan.host.name}: FAILED: ${o.message}`);
      }
      const failed = outcomes.filter((o) => !o.ok);
      if (failed.length > 0) {
        stopped = `the roll stopped after ${failed.map((o) => o.plan.host.name).join(", ")}`;
        break;
      }
    }
  } catch (error) {
    // Ctrl-C, or the pool's lease lost: the roll stops between hosts, as after a failed one.
    if (!(error instanceof Interrupted || error instanceof LeaseLost)) throw error;
    stopped = `${error.message}: hosts before it are done, the rest untouched`;
  } finally {
    control.uninstall();
  }
  // Every host is done, or restored and stopped at: nothing is left half-applied.
  await lease.journal?.clear().catch((e: Error) => ctx.out.warn(`pool-ops: the journal beside the lease could not be closed (${e.message}): the next changing command restarts the last batch's hosts once more`));
  const untouched = changed.filter((p) => !results.some((r) => r.host === p.host.name)).map((p) => p.host.name);
  const group = new GroupResult(results, ctx.elapsedMs);
  await ctx.audit(group, { leader, backupDir, untouched, stopped });
  if (ctx.out.json) ctx.out.data({ ...group, leader, backupDir, untouched, stopped });
  else if (stopped) ctx.out.warn(`pool-ops: push-config: ${stopped}; not touched: ${untouched.join(", ") || "none"}`);
  else ctx.out.info(`pushed to ${results.length} host(s); previous files in ${backupDir} on each`);
  if (stopped && control.wasInterrupted) return EXIT_ABORTED;
  return stopped ? EXIT_HOST_FAILURE : EXIT_OK;
}

// An interrupted push, found by the next changing command: the push run again (the rendered files, diffed), the hosts
// it was applying restarted onto their files whatever the diff says.
registerRecovery("push-config", (ctx, entry, lease) => {
  const facts = entry.facts as { reload?: unknown; leader?: unknown; unapplied?: unknown };
  const unapplied = Array.isArray(facts.unapplied) ? facts.unapplied.filter((h): h is string => typeof h === "string") : [];
  return pushConfig(ctx, { reload: facts.reload !== false, leader: typeof facts.leader === "string" ? facts.leader : undefined, unapplied }, lease);
}, { ownRunFinishes: false });

export function pushConfigCommand(): Command {
  return new Command("push-config")
    .description("render node config, topology, unit and extra files; diff; write atomically; reload/restart one host at a time, health-gated")
    .option("--no-reload", "write the files but neither reload nor restart the nodes")
    .option("--leader <producer>", "the forging producer, when the SSM leader parameter cannot be read")
    .addOption(leaseWaitOption())
    .action(opsAction(async (ctx, options: PushOptions & LeaseOptions) => withPoolLease(ctx, "push-config", options, (lease) => pushConfig(ctx, options, lease))));
}
