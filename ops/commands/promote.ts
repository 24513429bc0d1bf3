/**
 * `pool-ops promote`: the standby becomes the block producer, the old leader fenced first — never two forging.
 * `pool-ops leader`: who leads, per the SSM leader parameter and per the nodes' own forging metrics.
 *
 * Promote (config/host-layout.ts has the design): preflight (leader per SSM cross-checked with both nodes' metrics;
 * the standby reachable, synced within `--max-lag` slots of the relays' best tip, holding a KES key, VRF key and op
 * cert that verify and are not expired) → fence the old leader FIRST over SSH (standby environment, credentials to
 * the held paths, RESTART — which fences a node whether or not it had finished starting — and not forging confirmed
 * on the forging gauge and the Forge counters) or, when that fails, by a forced stop of its instance → promote the
 * standby (credentials to the active paths, leader environment, restart, startup done, forging confirmed the same
 * way) → record the new leader in SSM and the audit log. If the standby does not start forging, it is fenced again
 * (restarted as standby: it must not forge when a slow startup ends) and an SSH-fenced old leader is put back.
 * The gap without a forger is one node restart (on mainnet, loading a ledger snapshot: minutes).
 */
import { Command, InvalidArgumentError } from "commander";
import { credentialOwnership, hostLayout } from "../../config/host-layout";
import { LeaderParameter, LeaderParameterError } from "../aws/leader-parameter";
import { assertProducerIdentity } from "../aws/producer-identity";
import {
  equalBytes,
  kesVerificationKey,
  opcertValidity,
  readKesSigningKey,
  readVerifiedOperationalCertificate,
  readVrfSigningKey,
  wipe,
} from "../cardano";
import { EXIT_ABORTED, EXIT_HOST_FAILURE, EXIT_OK, opsAction, type OpsContext } from "../context";
import { QUIET_SLOTS, readForging, verdict } from "../pool/forging";
import { metricValue, readNodeMetrics } from "../pool/node-metrics";
import { fenceLeader, fenceOverSsh, forgingState, promoteOverSsh } from "../pool/producer-role";
import { reissueOpcert } from "../pool/reissue-opcert";
import { Interrupted, StepControl } from "../pool/step-control";
import { NO_LEASE, type LeaseGuard } from "../lease/lease-guard";
import { leaseWaitOption, type LeaseOptions } from "../lease/wait-option";
import { thisProcess } from "../lease/lease-record";
import { registerRecovery } from "../lease/recoveries";
import { withPoolLease } from "../lease/with-lease";
import { finishPromotion } from "./promote-recovery";
import { SecretsManagerSecretStore } from "../aws/secret-store";
import type { Connection } from "../remote/connection";
import { GroupResult, OpsError, type Result } from "../remote/result";

export interface PromoteOptions {
  readonly forceUnfenced?: boolean;
  readonly maxLag?: number;
  readonly back?: boolean;
  readonly newOpcert?: boolean;
}

async function readLeaderRecord(ctx: OpsContext, producers: string[]): Promise<{ parameter: LeaderParameter; leader: string }> {
  const inventory = await ctx.inventory();
  if (!inventory.parameters.leader) throw new OpsError("-", "preflight", "the inventory names no leader parameter", "use the nodes stack's inventory output");
  const parameter = new LeaderParameter(ctx.awsTarget, inventory.parameters.leader, producers);
  try {
    return { parameter, leader: await parameter.read() };
  } catch (error) {
    parameter.close();
    if (error instanceof LeaderParameterError) throw new OpsError("-", "preflight", error.message, "check AWS credentials and region (--aws-endpoint for the emulator)");
    throw error;
  }
}

/** How long a restarted node may take to finish starting: the network's restart health timeout. */
function restartTimeoutMs(config: OpsContext["config"]): number {
  return config.pushConfig.healthTimeoutSeconds * 1000;
}

async function safeForging(ctx: OpsContext, c: Connection): Promise<number | undefined> {
  return forgingState(ctx.config, c).catch(() => undefined);
}

/** The best tip among the relays (undefined when none answers). */
async function relaysTip(ctx: OpsContext, connections: Connection[]): Promise<number | undefined> {
  const layout = hostLayout(ctx.config);
  const slots = await Promise.all(
    connections.map(async (c) => {
      const m = await readNodeMetrics(c, layout.nodeConfig, ctx.config.node.metricsPort).catch(() => undefined);
      return m ? metricValue(m, "slotNum") : undefined;
    }),
  );
  const known = slots.filter((s): s is number => s !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}

/** Checks the standby's credentials as its node will: cert signature, KES key matching the cert, VRF key, validity. */
async function checkStandbyCredentials(ctx: OpsContext, c: Connection, leaderConnection: Connection | undefined): Promise<string[]> {
  const layout = hostLayout(ctx.config);
  const problems: string[] = [];
  const pick = async (key: "kesKey" | "vrfKey" | "opcert") => (await c.readText(layout.heldCredentials[key])) ?? (await c.readText(layout.activeCredentials[key]));
  const [kesText, vrfText, certText] = [await pick("kesKey"), await pick("vrfKey"), await pick("opcert")];
  if (!kesText || !vrfText || !certText) return [`${c.name} does not hold all three credential files (KES key, VRF key, op cert)`];
  // The pool's cold key: from the leader's cert when it can be read, so a cert of another pool is refused.
  let coldVk: Uint8Array | undefined;
  const leaderCert = leaderConnection ? await leaderConnection.readText(layout.activeCredentials.opcert).catch(() => undefined) : undefined;
  if (leaderCert) {
    try {
      coldVk = readVerifiedOperationalCertificate(leaderCert, "leader cert").coldVerificationKey;
    } catch {
      coldVk = undefined;
    }
  }
  try {
    const cert = readVerifiedOperationalCertificate(certText, `${c.name} op cert`, coldVk);
    const kes = readKesSigningKey(kesText, `${c.name} KES key`);
    const matches = equalBytes(kesVerificationKey(kes), cert.kesVerificationKey);
    wipe(kes);
    if (!matches) problems.push(`${c.name}: its KES key does not match its op cert`);
    wipe(readVrfSigningKey(vrfText, `${c.name} VRF key`));
    const validity = opcertValidity(cert.kesPeriod, new Date(), ctx.config.network);
    if (validity.status !== "valid") problems.push(`${c.name}: its op cert is ${validity.status} (KES periods ${cert.kesPeriod}–${validity.expiryPeriod - 1}): run pool-ops rotate-kes first`);
    else if (validity.daysLeft < 1) problems.push(`${c.name}: its op cert expires in ${validity.daysLeft.toFixed(1)} days: run pool-ops rotate-kes first`);
  } catch (error) {
    problems.push(`${c.name}: ${(error as Error).message}`);
  }
  return problems;
}

/** `lease`: the pool's lease the command (or the image rollout calling it) holds; every step checks it is still held. */
export async function promote(ctx: OpsContext, options: PromoteOptions, lease: LeaseGuard = NO_LEASE): Promise<number> {
  const started = Date.now();
  const config = ctx.config;
  const inventory = await ctx.inventory();
  const producers = inventory.hosts.filter((h) => h.role === "producer");
  if (producers.length !== 2) throw new OpsError("-", "preflight", `the inventory lists ${producers.length} producers, expected 2`, "use the nodes stack's inventory output");
  const { parameter, leader: recorded } = await readLeaderRecord(ctx, producers.map((p) => p.name));
  try {
    const fleet = await ctx.fleet();
    const oldLeader = producers.find((p) => p.name === recorded)!;
    const standby = producers.find((p) => p.name !== recorded)!;
    const oldC = fleet.connection(oldLeader.name);
    const newC = fleet.connection(standby.name);

    // ---- preflight ----------------------------------------------------------------------------------------------
    const [oldForging, newForging] = await Promise.all([safeForging(ctx, oldC), safeForging(ctx, newC)]);
    if (newForging === 1 && oldForging === 1) {
      ctx.out.warn(`BOTH producers report forging: fencing ${oldLeader.name} first is exactly what is needed`);
    } else if (newForging === 1) {
      throw new OpsError(standby.name, "preflight", `${standby.name} already forges while SSM names ${recorded}`, "record it with pool-ops leader, or fix the SSM parameter; nothing was changed");
    }
    const relays = inventory.hosts.filter((h) => h.role === "relay").map((h) => fleet.connection(h.name));
    const problems: string[] = [];
    const tip = await relaysTip(ctx, relays);
    const standbyMetrics = await readNodeMetrics(newC, hostLayout(config).nodeConfig, config.node.metricsPort).catch((e: Error) => {
      problems.push(`${standby.name} cannot be reached: ${e.message}`);
      return undefined;
    });
    const standbySlot = standbyMetrics && metricValue(standbyMetrics, "slotNum");
    const maxLag = options.maxLag ?? 60;
    if (standbyMetrics && standbySlot === undefined) problems.push(`${standby.name}: its node reports no slot`);
    else if (!standbyMetrics && problems.length === 0) problems.push(`${standby.name}: its node does not answer on its metrics port`);
    else if (tip === undefined) problems.push("no relay answers: cannot tell whether the standby is synced");
    else if (standbySlot !== undefined && tip - standbySlot > maxLag) problems.push(`${standby.name} is not synced: slot ${standbySlot}, ${tip - standbySlot} behind the relays' ${tip} (--max-lag ${maxLag})`);
    if (problems.length === 0) problems.push(...(await checkStandbyCredentials(ctx, newC, oldForging !== undefined ? oldC : undefined)));
    if (problems.length > 0) {
      throw new OpsError(standby.name, "preflight", `cannot promote ${standby.name}: ${problems.join("; ")}`, "fix the standby first; nothing was changed");
    }
    // The host made to forge (and, with --new-opcert, sent a new cert) must be a producer of this pool by EC2's word.
    await assertProducerIdentity(ctx.awsTarget, standby, inventory.pool, "check the inventory against EC2 (pool-ops inventory --from-aws); nothing was changed");

    const planText = `fence ${oldLeader.name} (now ${oldForging === undefined ? "not answering" : oldForging === 1 ? "forging" : "not forging"}), then promote ${standby.name} (slot ${standbySlot}, relays at ${tip})`;
    if (ctx.dryRun) {
      if (ctx.out.json) ctx.out.data({ dryRun: true, from: oldLeader.name, to: standby.name, oldForging, standbySlot, relaysTip: tip });
      else ctx.out.info(`dry run: would ${planText}; nothing changed`);
      return EXIT_OK;
    }
    if (!ctx.out.json) ctx.out.info(planText);
    await ctx.confirm(`make ${standby.name} the block producer (${oldLeader.name} is fenced first)?`);

    // ---- fence --------------------------------------------------------------------------------------------------
    const control = new StepControl(lease).install();
    const results: Result[] = [];
    let fencedBy: "ssh" | "ec2" | "unfenced" = "unfenced";
    // The journal beside the lease: a promotion killed from here on is finished by the next changing command.
    const startedAt = new Date(started).toISOString();
    const journal = (step: string) => lease.journal?.write({ command: "promote", step, startedAt, holder: thisProcess(), facts: { from: oldLeader.name, to: standby.name } });
    try {
      await journal("fence");
      await control.checkpoint("fence");
      const fence = await fenceLeader(config, ctx.awsTarget, oldC, oldLeader.instanceId, restartTimeoutMs(config), (text) => ctx.out.warn(text));
      fencedBy = fence.fencedBy;
      const fenceDetail = fence.detail;
      if (fencedBy === "unfenced") {
        if (!options.forceUnfenced) {
          throw new OpsError(
            oldLeader.name,
            "fence",
            `${oldLeader.name} could not be fenced (${fenceDetail}); refusing to promote ${standby.name}`,
            "restore SSH or AWS access and run promote again; --force-unfenced promotes anyway, and if the old leader " +
              "is still forging, both produce blocks with the same keys: forks and orphaned blocks until one is stopped",
          );
        }
        ctx.out.warn(`--force-unfenced: promoting with ${oldLeader.name} NOT confirmed fenced (${fenceDetail}); if it still forges, blocks will fork and orphan`);
      }
      results.push({ host: oldLeader.name, status: "changed", exitCode: 0, stdout: "", stderr: "", durationMs: Date.now() - started, detail: { fencedBy } });

      // ---- new op cert (optional) ---------------------------------------------------------------------------------
      if (options.newOpcert) {
        await control.checkpoint("new-opcert");
        const ids = { coldSigningKey: inventory.secrets.coldSigningKey, opcertCounter: inventory.secrets.opcertCounter, opcert: inventory.secrets.opcert, kesSigningKey: inventory.secrets.kesSigningKey };
        if (!ids.coldSigningKey || !ids.opcertCounter || !ids.opcert || !ids.kesSigningKey) throw new OpsError("-", "new op cert", "the inventory names no cold key, counter, op cert or KES key secret", "use the nodes stack's inventory output");
        const store = new SecretsManagerSecretStore(ctx.awsTarget);
        const issued = await reissueOpcert(config, newC, store, ids as { coldSigningKey: string; opcertCounter: string; opcert: string; kesSigningKey: string });
        ctx.out.info(`${standby.name}: new op cert, counter ${issued.previous} → ${issued.counter}`);
        // The fenced producer must hold the same cert, or promoting it back later would use a counter the chain passed.
        if (fencedBy === "ssh") {
          await oldC.put(hostLayout(config).heldCredentials.opcert, issued.certText, { ...credentialOwnership(config, "opcert"), backup: true, step: "write the new op cert" });
        } else ctx.out.warn(`${oldLeader.name} is stopped: it fetches the new op cert from Secrets Manager when it boots`);
      }

      // ---- promote ------------------------------------------------------------------------------------------------
      await journal("promote");
      await control.checkpoint("promote");
      let promoted;
      try {
        promoted = await promoteOverSsh(config, newC, restartTimeoutMs(config));
      } catch (error) {
        promoted = { confirmed: false, detail: (error as Error).message };
      }
      if (!promoted.confirmed) {
        // It was restarted with credentials: fence it again, or it forges when its startup ends.
        const refenced = await fenceOverSsh(config, newC, restartTimeoutMs(config)).then(
          (r) => (r.confirmed ? `${standby.name} restarted as standby again` : `${standby.name} NOT confirmed back to standby (${r.detail}): check it now`),
          (e: Error) => `${standby.name} could not be put back to standby (${e.message}): check it now`,
        );
        const back = fencedBy === "ssh" ? await restoreOldLeader(ctx, oldC, newC) : `${oldLeader.name} was fenced by ${fencedBy}: start it again by hand if it should lead`;
        throw new OpsError(standby.name, "promote", `${standby.name} did not start forging (${promoted.detail}); ${refenced}; ${back}`, "see the standby's node log; the SSM leader record is unchanged");
      }
      const forgingAfterMs = Date.now() - started;
      results.push({ host: standby.name, status: "changed", exitCode: 0, stdout: "", stderr: "", durationMs: forgingAfterMs, detail: { forging: 1 } });

      // ---- record -------------------------------------------------------------------------------------------------
      await journal("record");
      await control.checkpoint("record");
      try {
        await parameter.write(standby.name);
        await lease.journal?.clear();
      } catch (error) {
        ctx.out.warn(`${standby.name} forges, but the leader record could not be written: ${(error as Error).message}; the next changing command records it (or: aws ssm put-parameter --name ${inventory.parameters.leader} --value ${standby.name} --overwrite)`);
      }
      control.uninstall();
      await ctx.audit(new GroupResult(results, Date.now() - started), { from: oldLeader.name, to: standby.name, fencedBy, forgingAfterMs });
      if (ctx.out.json) ctx.out.data({ promoted: standby.name, from: oldLeader.name, fencedBy, forgingAfterMs });
      else ctx.out.info(`${standby.name} is the leader (forging ${(forgingAfterMs / 1000).toFixed(2)} s after start); ${oldLeader.name} fenced by ${fencedBy}`);
      return EXIT_OK;
    } catch (error) {
      control.uninstall();
      let note = "";
      const alreadyNoted = error instanceof OpsError && error.step === "promote";
      if (!alreadyNoted) {
        // Fenced but not promoted: the pool must not stay without a leader.
        note = fencedBy === "ssh" ? await restoreOldLeader(ctx, oldC, newC) : fencedBy === "ec2" ? `${oldLeader.name} is stopped and nothing forges: run pool-ops promote --yes again to finish` : "nothing was changed";
        ctx.out.warn(`pool-ops: promote ${error instanceof Interrupted ? error.message : `failed: ${(error as Error).message}`}: ${note}`);
      }
      // As before — the old leader was never fenced (nothing of the fence took), or it forges again and the standby
      // does not — the journal is closed: the next command must not finish a promotion this one gave up. Otherwise
      // it stays for the next changing command, which completes the promotion.
      const [oldNow, newNow] = await Promise.all([safeForging(ctx, oldC), safeForging(ctx, newC)]);
      if (fencedBy === "unfenced" || (oldNow === 1 && newNow !== 1)) await lease.journal?.clear().catch(() => undefined);
      else ctx.out.warn(`pool-ops: the promotion is left unfinished (${oldLeader.name} forging: ${oldNow ?? "unknown"}, ${standby.name}: ${newNow ?? "unknown"}); the next changing command completes it`);
      results.push({ host: standby.name, status: "failed", exitCode: null, stdout: "", stderr: "", durationMs: Date.now() - started, error: { step: error instanceof OpsError ? error.step : "promote", message: (error as Error).message, remedy: note || "see the message" } });
      await ctx.audit(new GroupResult(results, Date.now() - started), { from: oldLeader.name, to: standby.name, fencedBy });
      if (error instanceof Interrupted) return EXIT_ABORTED;
      throw error;
    }
  } finally {
    parameter.close();
  }
}

/** Undo an SSH fence when the standby could not take over: the old leader forges again (the standby is not). */
async function restoreOldLeader(ctx: OpsContext, oldC: Connection, newC: Connection): Promise<string> {
  try {
    if ((await safeForging(ctx, newC)) === 1) return `${newC.name} forges: ${oldC.name} left fenced`;
    const back = await promoteOverSsh(ctx.config, oldC, restartTimeoutMs(ctx.config));
    return back.confirmed ? `${oldC.name} forges again (restored)` : `${oldC.name} could not be restored (${back.detail}): the pool has NO leader, act now`;
  } catch (error) {
    return `${oldC.name} could not be restored (${(error as Error).message}): the pool has NO leader, act now`;
  }
}

export async function leaderStatus(ctx: OpsContext): Promise<number> {
  const inventory = await ctx.inventory();
  const producers = inventory.hosts.filter((h) => h.role === "producer");
  const { parameter, leader } = await readLeaderRecord(ctx, producers.map((p) => p.name));
  parameter.close();
  const fleet = await ctx.fleet();
  // Two readings a few slots apart: the gauge alone has been wrong upstream, the Forge loop's counter tells.
  const states = await Promise.all(
    producers.map(async (p) => {
      const c = fleet.connection(p.name);
      const first = await readForging(ctx.config, c);
      let later = first;
      const until = Date.now() + 30_000;
      while (first.metrics && later.wallSlot < first.wallSlot + QUIET_SLOTS && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 500));
        later = await readForging(ctx.config, c);
      }
      return { host: p.name, forging: later.metrics ? later.forgingEnabled : undefined, verdict: verdict(first, later), aboutToLead: later.aboutToLead };
    }),
  );
  const forging = states.filter((s) => s.verdict === "forging").map((s) => s.host);
  const problems: string[] = [];
  if (forging.length > 1) problems.push(`MORE THAN ONE PRODUCER FORGING: ${forging.join(", ")} — fence one now (pool-ops promote fences first)`);
  if (forging.length === 1 && forging[0] !== leader) problems.push(`SSM names ${leader}, but ${forging[0]} is the one forging`);
  if (forging.length === 0) problems.push("no producer is forging");
  for (const s of states.filter((x) => x.forging !== undefined && x.verdict === "unknown")) {
    problems.push(`${s.host}: its forging gauge says ${s.forging} but its Forge loop ${s.forging === 1 ? "does not run" : "runs"} (cardano-node #6113/#6576): trust the counters, check its node log`);
  }
  const unknown = states.filter((s) => s.forging === undefined).map((s) => s.host);
  if (unknown.length > 0) problems.push(`no metrics from ${unknown.join(", ")}`);
  if (ctx.out.json) ctx.out.data({ recorded: leader, producers: states, forging, problems });
  else {
    ctx.out.info(`leader per SSM (${inventory.parameters.leader}): ${leader}`);
    for (const s of states) ctx.out.info(`  ${s.host.padEnd(11)} forging: ${s.forging === undefined ? "unknown (no metrics)" : s.verdict === "forging" ? "yes" : s.verdict === "not forging" ? "no" : `unclear (gauge ${s.forging}, Forge loop ${s.aboutToLead})`}`);
    for (const p of problems) ctx.out.warn(`  ⚠ ${p}`);
  }
  return problems.length > 0 ? EXIT_HOST_FAILURE : EXIT_OK;
}

function slots(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a number of slots");
  return Number(value);
}

export function promoteCommand(): Command {
  return new Command("promote")
    .description("make the standby producer the leader: fence the old leader first (SSH, else EC2 stop), promote, record in SSM")
    .option("--back", "promote the other producer back (the same operation: the non-leader is promoted)")
    .option("--force-unfenced", "promote even if the old leader cannot be confirmed fenced (risk: both forge, forks)")
    .option("--new-opcert", "issue the promoted producer a cert with the next counter (needs kes.onChainCounterCommand)")
    .option("--max-lag <slots>", "how far behind the relays' best tip the standby may be (default 60)", slots)
    .addOption(leaseWaitOption())
    .action(opsAction(async (ctx, options: PromoteOptions & LeaseOptions) => withPoolLease(ctx, options.back ? "promote --back" : "promote", options, (lease) => promote(ctx, options, lease))));
}

registerRecovery("promote", finishPromotion, { ownRunFinishes: false });

export function leaderCommand(): Command {
  return new Command("leader")
    .description("who leads: the SSM leader record and each producer's forging (gauge cross-checked with the Forge counters); exit 1 on disagreement or two forging")
    .action(opsAction(async (ctx) => leaderStatus(ctx)));
}
