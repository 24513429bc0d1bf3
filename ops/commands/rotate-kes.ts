/**
 * `pool-ops rotate-kes`: a fresh KES key and op cert for the pool, with the cold key in memory only.
 *
 * Preflight (leader from the SSM leader parameter, both producers reachable, the cold key's pool id, the cert on each
 * producer, the node's own KES period) → counter (ops/pool/kes-counter.ts) → sign in memory, wipe the cold key →
 * push the new pair to the leader's active credential paths and the standby's held ones (previous pair backed up on
 * each host) → hot-key and counter secrets → the leader re-reads its credentials: a SIGHUP when its node has
 * finished starting, else a restart (a SIGHUP during startup is NotEffective: cardano-node `Run.hs` @11.0.1) → verify
 * on the leader's metrics (the new cert's start period, forging confirmed with the Forge counters). The standby's held
 * pair is replaced with no signal at all: its command line names no credentials (config/host-layout.ts). Any failure or Ctrl-C after the first write puts every backup back, reloads the leader again if
 * it was reloaded, restores the secrets' previous values, and exits non-zero saying what happened.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { credentialOwnership, hostLayout } from "../../config/host-layout";
import { NETWORKS } from "../../config/networks";
import { LeaderParameter, LeaderParameterError } from "../aws/leader-parameter";
import { SecretsManagerSecretStore, SecretStoreError, type SecretStore } from "../aws/secret-store";
import {
  coldVerificationKey,
  equalBytes,
  generateKesKey,
  issueOperationalCertificate,
  KeyMaterialError,
  kesPeriodAt,
  opcertValidity,
  poolIdBech32,
  poolIdHex,
  readColdSigningKey,
  readOpcertCounter,
  readVerifiedOperationalCertificate,
  wipe,
  writeKesSigningKey,
  writeOperationalCertificate,
  writeOpcertCounter,
} from "../cardano";
import { EXIT_ABORTED, EXIT_HOST_FAILURE, EXIT_OK, opsAction, stateDir, type OpsContext } from "../context";
import { chooseCounter, CounterRuleError, queryOnChainCounter } from "../pool/kes-counter";
import { confirmForging } from "../pool/forging";
import { describe as describeReading } from "../pool/producer-role";
import { backUpPair, leaderView, reloadNode, rollBack, waitFor, type Journal, type Target } from "../pool/kes-rotation";
import { Interrupted, StepControl } from "../pool/step-control";
import { NO_LEASE, type LeaseGuard } from "../lease/lease-guard";
import { leaseWaitOption, type LeaseOptions } from "../lease/wait-option";
import { withPoolLease } from "../lease/with-lease";
import type { Inventory } from "../remote/inventory";
import { GroupResult, OpsError, type Result } from "../remote/result";

export interface RotateKesOptions {
  readonly restart?: boolean;
  readonly counter?: number;
  readonly only?: "primary" | "standby";
  readonly force?: boolean;
}

const SECRET_KEYS = ["coldSigningKey", "opcertCounter", "kesSigningKey", "opcert"] as const;

function journalPath(pool: string): string {
  return join(stateDir(), `rotate-kes-${pool}.json`);
}

function saveJournal(journal: Journal): void {
  const file = journalPath(journal.pool);
  mkdirSync(join(file, ".."), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
}

function utc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function secretIds(inventory: Inventory): Record<(typeof SECRET_KEYS)[number], string> {
  const missing = SECRET_KEYS.filter((k) => !inventory.secrets[k]);
  if (missing.length > 0) {
    throw new OpsError("-", "preflight", `the inventory names no ${missing.join(", ")} secret`, "deploy the security and nodes stacks and use their inventory output");
  }
  return Object.fromEntries(SECRET_KEYS.map((k) => [k, inventory.secrets[k]!])) as Record<(typeof SECRET_KEYS)[number], string>;
}

function secretError(error: unknown, step: string): never {
  if (error instanceof SecretStoreError) throw new OpsError("-", step, error.message, "check the operator's AWS credentials, region and the secret (pool-ops keys import)");
  throw error;
}

/** `lease`: the pool's lease the command holds (withPoolLease); every step checks it is still held. */
export async function rotateKes(ctx: OpsContext, options: RotateKesOptions, lease: LeaseGuard = NO_LEASE): Promise<number> {
  const config = ctx.config;
  const inventory = await ctx.inventory();
  const layout = hostLayout(config);
  const network = config.network;
  const maxPeriods = NETWORKS[network].maxKESEvolutions;
  const aws = ctx.awsTarget;

  // ---- preflight -------------------------------------------------------------------------------------------------
  const producers = inventory.hosts.filter((h) => h.role === "producer").map((h) => h.name);
  if (producers.length !== 2) throw new OpsError("-", "preflight", `the inventory lists ${producers.length} producers, expected 2`, "use the nodes stack's inventory output");
  if (!inventory.parameters.leader) throw new OpsError("-", "preflight", "the inventory names no leader parameter", "use the nodes stack's inventory output");
  const leaderParameter = new LeaderParameter(aws, inventory.parameters.leader, producers);
  let leader: string;
  try {
    leader = await leaderParameter.read();
  } catch (error) {
    if (error instanceof LeaderParameterError) throw new OpsError("-", "preflight", error.message, "check AWS credentials and region (--aws-endpoint for the emulator)");
    throw error;
  } finally {
    leaderParameter.close();
  }
  const standby = producers.find((p) => p !== leader)!;
  const ids = secretIds(inventory);
  const store: SecretStore = new SecretsManagerSecretStore(aws);

  let counterText: string;
  try {
    counterText = (await store.get(ids.opcertCounter)).value;
  } catch (error) {
    secretError(error, "read the op cert counter");
  }
  const counterFile = readOpcertCounter(counterText, "op cert counter secret");
  const coldVk = counterFile.coldVerificationKey;
  const poolBech32 = poolIdBech32(coldVk);
  if (config.poolId && config.poolId !== poolBech32 && config.poolId !== poolIdHex(coldVk)) {
    throw new OpsError("-", "preflight", `the counter secret belongs to pool ${poolBech32}, the config says ${config.poolId}`, "check poolId in the pool config and the secrets' pool");
  }
  if (!config.poolId) ctx.out.warn(`pool id not configured (poolId): the secrets' pool ${poolBech32} is not checked against it`);

  const now = new Date();
  const period = kesPeriodAt(now, network);
  const fleet = await ctx.fleet();
  const names = options.only === "primary" ? [leader] : options.only === "standby" ? [standby] : [leader, standby];
  const targets: Target[] = names.map((name) => ({
    name,
    isLeader: name === leader,
    files: name === leader ? layout.activeCredentials : layout.heldCredentials,
    connection: fleet.connection(name),
  }));
  for (const target of targets) {
    let text: string | undefined;
    try {
      text = await target.connection.readText(target.files.opcert, { step: "read the op cert" });
    } catch (error) {
      if (error instanceof OpsError) {
        throw new OpsError(target.name, "preflight", `cannot reach ${target.name}: ${error.message}`, `bring it back, or rotate the other producer alone with --only ${target.isLeader ? "standby" : "primary"}`, error.status);
      }
      throw error;
    }
    if (text === undefined) throw new OpsError(target.name, "preflight", `${target.files.opcert} is missing`, "install the pool's keys first (pool-ops keys import, then reboot or promote)");
    try {
      target.cert = readVerifiedOperationalCertificate(text, `${target.name}:${target.files.opcert}`, coldVk);
    } catch (error) {
      if (error instanceof KeyMaterialError) throw new OpsError(target.name, "preflight", error.message, "the producer holds another pool's or a corrupt cert: fix it before rotating");
      throw error;
    }
  }
  const leaderTarget = targets.find((t) => t.isLeader);
  const view = leaderTarget ? await leaderView(config, leaderTarget.connection) : undefined;
  if (view?.currentKesPeriod !== undefined && view.currentKesPeriod !== period) {
    throw new OpsError(leader, "preflight", `the node is at KES period ${view.currentKesPeriod}, this machine's clock says ${period}`, "fix the clock (here or on the node) before rotating");
  }
  const current = (leaderTarget ?? targets[0]!).cert!;
  if (current.kesPeriod === period && !options.force) {
    const validity = opcertValidity(current.kesPeriod, now, network);
    const message = `nothing to do: the cert already starts at the current KES period ${period} (expires ${utc(validity.expiresAt)}); --force rotates anyway`;
    if (ctx.out.json) ctx.out.data({ rotated: false, reason: message, kesPeriod: period, counter: current.counter });
    else ctx.out.info(message);
    return EXIT_OK;
  }

  let onChain: number | undefined;
  if (config.kes.onChainCounterCommand) {
    const queryHost = leaderTarget ?? targets[0]!;
    onChain = await queryOnChainCounter(config, queryHost.connection);
  }
  let choice;
  try {
    choice = chooseCounter({ current: current.counter, onChain, requested: options.counter });
  } catch (error) {
    if (error instanceof CounterRuleError) throw new OpsError("-", "choose the counter", error.message, "see README: rotate-kes, counter rule");
    throw error;
  }
  const validity = opcertValidity(period, now, network);
  const plan = {
    pool: poolBech32,
    leader,
    standby,
    kesPeriod: period,
    counter: choice.counter,
    counterReason: choice.reason,
    expires: validity.expiresAt.toISOString(),
    daysLeft: Math.floor(validity.daysLeft),
    hosts: targets.map((t) => ({ host: t.name, files: [t.files.kesKey, t.files.opcert], reload: t.isLeader })),
    secrets: [ids.kesSigningKey, ids.opcert, ids.opcertCounter],
  };
  const describe = () => {
    ctx.out.info(`pool ${poolBech32}: new KES key and op cert at KES period ${period}, counter ${choice.counter}`);
    ctx.out.info(`  why this counter: ${choice.reason}`);
    ctx.out.info(`  valid until ${utc(validity.expiresAt)} (${plan.daysLeft} days, ${maxPeriods} KES periods)`);
    for (const t of targets) ctx.out.info(`  ${t.name} (${t.isLeader ? "leader: files, then SIGHUP" : "standby: files held aside, no reload"}): ${t.files.kesKey}, ${t.files.opcert}`);
    ctx.out.info(`  secrets: ${plan.secrets.join(", ")}`);
  };
  if (ctx.dryRun) {
    if (ctx.out.json) ctx.out.data({ dryRun: true, ...plan });
    else {
      describe();
      ctx.out.info("dry run: nothing changed");
    }
    return EXIT_OK;
  }
  if (!ctx.out.json) describe();
  await ctx.confirm(`rotate the KES key of pool ${poolBech32} on ${targets.map((t) => t.name).join(" and ")}?`);

  // ---- change --------------------------------------------------------------------------------------------------
  const control = new StepControl(lease).install();
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  const journal: Journal = { pool: inventory.pool, startedAt: now.toISOString(), step: "sign", backupDir: `${layout.backupDir}/${stamp}-rotate-kes`, pushed: [], secretsUpdated: false, leaderReloaded: false };
  const previousSecrets: Partial<Record<"kesSigningKey" | "opcert" | "opcertCounter", string>> = {};
  const results: Result[] = [];
  let newKesText = "";
  let newCertText = "";
  try {
    // Sign: the cold key exists only in this block's memory.
    journal.step = "read-cold-key";
    await control.checkpoint("read-cold-key");
    let coldSk: Uint8Array | undefined;
    try {
      let coldText: string;
      try {
        coldText = (await store.get(ids.coldSigningKey)).value;
      } catch (error) {
        secretError(error, "read the cold key");
      }
      coldSk = readColdSigningKey(coldText, "cold signing key secret");
      if (!equalBytes(coldVerificationKey(coldSk), coldVk)) {
        throw new OpsError("-", "sign", "the cold key secret does not belong to the counter secret's pool", "re-import the pool's key set (pool-ops keys import)");
      }
      const kes = generateKesKey();
      const cert = issueOperationalCertificate({ kesVerificationKey: kes.verificationKey, coldSigningKey: coldSk, counter: choice.counter, kesPeriod: period });
      newKesText = writeKesSigningKey(kes.signingKey);
      wipe(kes.signingKey);
      newCertText = writeOperationalCertificate(cert);
    } finally {
      wipe(coldSk);
    }

    // Push, leader first: a failure before the standby leaves the leader untouched once rolled back.
    for (const target of targets) {
      journal.step = `push-${target.name}`;
      saveJournal(journal);
      await control.checkpoint(`push-${target.name}`);
      const dir = `${journal.backupDir}/${target.name}`;
      await backUpPair(target.connection, target.files, dir);
      journal.pushed.push(target.name);
      saveJournal(journal);
      await target.connection.put(target.files.kesKey, newKesText, { ...credentialOwnership(config, "kesKey"), backup: false, step: "write the KES key" });
      await target.connection.put(target.files.opcert, newCertText, { ...credentialOwnership(config, "opcert"), backup: false, step: "write the op cert" });
    }

    journal.step = "update-secrets";
    await control.checkpoint("update-secrets");
    try {
      previousSecrets.kesSigningKey = (await store.get(ids.kesSigningKey)).value;
      previousSecrets.opcert = (await store.get(ids.opcert)).value;
      previousSecrets.opcertCounter = counterText;
      journal.secretsUpdated = true;
      saveJournal(journal);
      await store.put(ids.kesSigningKey, newKesText);
      await store.put(ids.opcert, newCertText);
      await store.put(ids.opcertCounter, writeOpcertCounter({ next: choice.counter + 1, coldVerificationKey: coldVk }));
    } catch (error) {
      secretError(error, "update the secrets");
    }

    if (leaderTarget) {
      journal.step = "reload";
      await control.checkpoint("reload");
      const how = await reloadNode(config, leaderTarget.connection, Boolean(options.restart));
      journal.leaderReloaded = true;
      saveJournal(journal);

      journal.step = "verify";
      await control.checkpoint("verify");
      const verified = await waitFor(
        () => leaderView(config, leaderTarget.connection),
        (v) => v?.certStart === period && v.forging === 1 && (v.remaining ?? 0) >= maxPeriods - 1,
        how === "restart" ? config.pushConfig.healthTimeoutSeconds * 1000 : 15_000,
      );
      if (!verified.ok) {
        throw new OpsError(leader, "verify", `the node did not take the new cert after a ${how}: it reports ${JSON.stringify(verified.last ?? "no metrics")}`, "see the node's log; the previous pair has been put back");
      }
      const forging = await confirmForging(config, leaderTarget.connection, "forging", 15_000);
      if (!forging.confirmed) {
        throw new OpsError(leader, "verify", `the node reports the new cert but its forging loop does not run (${describeReading(forging.last)})`, "see the node's log; the previous pair has been put back");
      }
    }
  } catch (error) {
    const rolledBack = await rollBack(config, targets, journal, store, ids, previousSecrets);
    control.uninstall();
    for (const t of targets) {
      results.push({ host: t.name, status: "failed", exitCode: null, stdout: "", stderr: "", durationMs: ctx.elapsedMs, error: { step: journal.step, message: (error as Error).message, remedy: rolledBack.ok ? "previous pair restored" : "see the rollback report" } });
    }
    await ctx.audit(new GroupResult(results, ctx.elapsedMs), { kesPeriod: period, counter: choice.counter, rolledBack: rolledBack.ok, step: journal.step });
    const what = error instanceof Interrupted ? error.message : `${journal.step} failed: ${(error as Error).message}`;
    if (ctx.out.json) ctx.out.data({ rotated: false, failedAt: journal.step, error: (error as Error).message, rollback: rolledBack });
    ctx.out.warn(`pool-ops: rotate-kes ${what}`);
    for (const line of rolledBack.report) ctx.out.warn(`  ${line}`);
    if (rolledBack.ok) rmSync(journalPath(inventory.pool), { force: true });
    else ctx.out.warn(`  journal kept at ${journalPath(inventory.pool)}`);
    return error instanceof Interrupted ? EXIT_ABORTED : EXIT_HOST_FAILURE;
  }
  control.uninstall();
  rmSync(journalPath(inventory.pool), { force: true });

  for (const t of targets) results.push({ host: t.name, status: "changed", exitCode: 0, stdout: "", stderr: "", durationMs: ctx.elapsedMs, detail: { reloaded: t.isLeader } });
  await ctx.audit(new GroupResult(results, ctx.elapsedMs), { pool: poolBech32, kesPeriod: period, counter: choice.counter, expires: plan.expires, backupDir: journal.backupDir });
  if (ctx.out.json) ctx.out.data({ rotated: true, ...plan, backupDir: journal.backupDir, durationMs: ctx.elapsedMs });
  else {
    ctx.out.info(`rotated: ${leaderTarget ? `${leader} forges with` : "installed"} counter ${choice.counter} from KES period ${period}`);
    ctx.out.info(`expires ${utc(validity.expiresAt)}: ${plan.daysLeft} days left; previous pair kept in ${journal.backupDir} on each host`);
  }
  return EXIT_OK;
}

function counterArg(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a non-negative integer");
  return Number(value);
}

export function rotateKesCommand(): Command {
  return new Command("rotate-kes")
    .description("new KES key and op cert for both producers (cold key in memory only), reload the leader, verify, roll back on failure")
    .option("--restart", "restart the leader's node instead of a SIGHUP (a node that has not finished starting is always restarted)")
    .option("--counter <n>", "issue number of the new cert (checked against the chain's bounds)", counterArg)
    .addOption(new Option("--only <producer>", "rotate one producer only, when the other is down: the leader (primary) or the standby").choices(["primary", "standby"]))
    .option("--force", "rotate even when the cert already starts at the current KES period")
    .addOption(leaseWaitOption())
    .action(opsAction(async (ctx, options: RotateKesOptions & LeaseOptions) => withPoolLease(ctx, "rotate-kes", options, (lease) => rotateKes(ctx, options, lease))));
}

