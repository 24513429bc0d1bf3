/**
 * `pool-ops rotate-kes`: a fresh KES key and op cert for the pool, signed by a short-lived child that alone reads the
 * cold key (ops/cold-signer).
 *
 * Preflight (leader from the SSM leader parameter, both producers reachable and confirmed producers by EC2, the cold
 * key's pool id, the cert on each producer, the node's own KES period; done only when every copy of the hot pair
 * agrees, is current and runs on the leader — else an interrupted rotation is finished) → counter
 * (ops/pool/kes-counter.ts) → sign in the cold-key child (this process never holds the cold key) → push the new pair
 * to the leader's active credential paths and the standby's held ones (previous pair backed up on each host) →
 * hot-key and counter secrets → the leader re-reads its credentials: a SIGHUP when its node has finished starting,
 * else a restart (a SIGHUP during startup is NotEffective: cardano-node `Run.hs` @11.0.1) → verify on the leader's
 * metrics (the new cert's start period, forging confirmed with the Forge counters) → the previous pair retired from
 * the producers. Before each push and the reload the roles are re-read (ops/pool/producer-roles-now.ts). The
 * standby's held pair is replaced with no signal at all: its command line names no credentials
 * (config/host-layout.ts). Any failure or Ctrl-C after the first write puts every backup back, reloads the leader
 * again if it was reloaded, restores the secrets' previous values, and exits non-zero saying what happened.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { credentialOwnership, hostLayout } from "../../config/host-layout";
import { NETWORKS } from "../../config/networks";
import { assertProducerIdentity } from "../aws/producer-identity";
import { LeaderParameter, LeaderParameterError } from "../aws/leader-parameter";
import { putHotPair } from "../aws/hot-pair-secrets";
import { SecretsManagerSecretStore, SecretStoreError, type SecretStore } from "../aws/secret-store";
import {
  generateKesKey,
  KeyMaterialError,
  kesPeriodAt,
  opcertValidity,
  poolIdBech32,
  poolIdHex,
  readOpcertCounter,
  readVerifiedOperationalCertificate,
  wipe,
  writeKesSigningKey,
  writeOperationalCertificate,
  writeOpcertCounter,
  type OperationalCertificate,
} from "../cardano";
import { issueOpcertWithColdKeySecret } from "../cold-signer/issue-opcert";
import { EXIT_ABORTED, EXIT_HOST_FAILURE, EXIT_OK, opsAction, type OpsContext } from "../context";
import { chooseCounter, CounterRuleError, queryOnChainCounter } from "../pool/kes-counter";
import { confirmForging } from "../pool/forging";
import { describe as describeReading } from "../pool/producer-role";
import { backUpPair, leaderView, reloadNode, rollBack, waitFor, type Journal, type Target } from "../pool/kes-rotation";
import { assertRolesUnchanged } from "../pool/producer-roles-now";
import { clearRotationJournal, inTheirRolesNow, pairAgreement, rotationJournalPath, saveRotationJournal } from "../pool/rotation-state";
import { retirePreviousPairs } from "../pool/retire-hot-keys";
import { Interrupted, StepControl } from "../pool/step-control";
import { NO_LEASE, type LeaseGuard } from "../lease/lease-guard";
import { leaseWaitOption, type LeaseOptions } from "../lease/wait-option";
import { registerRecovery } from "../lease/recoveries";
import { withPoolLease } from "../lease/with-lease";
import type { Inventory } from "../remote/inventory";
import { GroupResult, OpsError, type Result } from "../remote/result";

export interface RotateKesOptions {
  readonly restart?: boolean;
  readonly counter?: number;
  readonly only?: "primary" | "standby";
  readonly force?: boolean;
  /** Issue counter m + 1 (the chain's last + 1) so every pair with a lower counter stops being valid on chain. */
  readonly revoke?: boolean;
}

const SECRET_KEYS = ["coldSigningKey", "opcertCounter", "kesSigningKey", "opcert"] as const;

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
  // Hot keys go only to an address EC2 confirms is a running instance of this pool's producer tier.
  for (const target of targets) {
    await assertProducerIdentity(aws, inventory.hosts.find((h) => h.name === target.name)!, inventory.pool, "check the inventory against EC2 (pool-ops inventory --from-aws) before any key is sent");
  }
  const leaderTarget = targets.find((t) => t.isLeader);
  const view = leaderTarget ? await leaderView(config, leaderTarget.connection) : undefined;
  if (view?.currentKesPeriod !== undefined && view.currentKesPeriod !== period) {
    throw new OpsError(leader, "preflight", `the node is at KES period ${view.currentKesPeriod}, this machine's clock says ${period}`, "fix the clock (here or on the node) before rotating");
  }
  const current = (leaderTarget ?? targets[0]!).cert!;
  if (options.revoke && options.counter !== undefined) throw new OpsError("-", "preflight", "--revoke chooses the counter itself (m + 1): drop --counter", "run rotate-kes --revoke alone");
  if (options.revoke && !config.kes.onChainCounterCommand) {
    throw new OpsError("-", "preflight", "--revoke needs the chain's last op cert counter m to issue m + 1, and kes.onChainCounterCommand is not set", "set kes.onChainCounterCommand (README: kes.onChainCounterCommand) and run it on a synced leader");
  }
  // Done only when it is true: every copy of the hot pair the same, at the current period, run by the leader's node.
  // The node's metrics show its cert's start period, not which key it holds: after an interrupted rotation that
  // wrote the pair but never reloaded the leader (its journal says so), the node may run the previous pair of the
  // same period (a --force rotation), so that rotation is finished whatever the files say.
  const pairs = options.only ? undefined : await pairAgreement(targets, store, ids);
  const recorded = await lease.journal?.read();
  const unfinished = recorded?.command === "rotate-kes" ? recorded : undefined;
  const reloadUnconfirmed = unfinished !== undefined && unfinished.facts.leaderReloaded !== true && (unfinished.facts.pushed as unknown[] | undefined)?.includes(leader) === true;
  const leaderRuns = view !== undefined && view.certStart === current.kesPeriod && !reloadUnconfirmed;
  if (current.kesPeriod === period && !options.force && !options.revoke && (pairs === undefined || (pairs.same && leaderRuns))) {
    const validity = opcertValidity(current.kesPeriod, now, network);
    const message = `nothing to do: the cert already starts at the current KES period ${period} (expires ${utc(validity.expiresAt)})${pairs ? ", every copy of the pair agrees (leader, standby, secrets) and the leader's node runs it" : ""}; --force rotates anyway`;
    if (ctx.out.json) ctx.out.data({ rotated: false, reason: message, kesPeriod: period, counter: current.counter });
    else ctx.out.info(message);
    if (pairs && view?.forging !== 1) ctx.out.warn(`  but ${leader}'s node reports forging_enabled ${view?.forging ?? "absent"}: see pool-ops status`);
    if (pairs && unfinished) {
      // It got as far as the leader reloading: what it left is the journal and the previous pair's backups.
      for (const t of targets) await retirePreviousPairs(config, t.connection);
      await clearRotationJournal(inventory.pool, lease);
      ctx.out.info("the interrupted rotation had in fact completed: the previous pair is removed from the producers and its journal closed");
    }
    return EXIT_OK;
  }
  if (pairs && !pairs.same) {
    ctx.out.warn("the pool's copies of the hot pair disagree (an interrupted rotation, a rotation of one producer, or a change by hand):");
    for (const line of pairs.lines) ctx.out.warn(`  ${line}`);
    ctx.out.warn("  finishing it: one new pair for the leader, the standby and the secrets");
  } else if (pairs && current.kesPeriod === period && !leaderRuns && !options.force && !options.revoke) {
    if (reloadUnconfirmed) ctx.out.warn(`the interrupted rotation wrote the pair but never confirmed ${leader}'s node re-read it: finishing it with a new pair`);
    else if (view === undefined) {
      throw new OpsError(leader, "preflight", "every copy of the hot pair agrees and is current, but the leader's node gives no metrics, so whether it runs that pair is unknown", "check the node (pool-ops status); rotate-kes --force rotates anyway");
    } else ctx.out.warn(`${leader}'s node runs a cert from KES period ${view.certStart ?? "none"}, not the current pair's ${current.kesPeriod} (an interrupted rotation): finishing it with a new pair`);
  }

  let onChain: number | undefined;
  if (config.kes.onChainCounterCommand) {
    const queryHost = leaderTarget ?? targets[0]!;
    onChain = await queryOnChainCounter(config, queryHost.connection);
  }
  if (options.revoke && onChain !== undefined && onChain === current.counter - 1) {
    // The chain accepts m or m + 1 and the current cert already holds m + 1: a pair issued now would carry the same
    // counter as the one to revoke, and revoke nothing (both stay valid after the next block).
    throw new OpsError(
      "-",
      "choose the counter",
      `--revoke: the chain last saw counter ${onChain} and the current cert already has ${current.counter} (m + 1, the highest the chain accepts): a new pair would take ${current.counter} too and leave a leaked pair with ${current.counter} valid; nothing was changed`,
      `once the pool has made a block with the current cert (the chain's counter becomes ${current.counter}), run rotate-kes --revoke again: it issues ${current.counter + 1}, and every pair up to ${current.counter} is refused after the next block`,
    );
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
    // Sign: the cold key is read and used only by a child process of its own (ops/cold-signer), never by this one.
    journal.step = "read-cold-key";
    await control.checkpoint("read-cold-key");
    const kes = generateKesKey();
    try {
      let cert: OperationalCertificate;
      try {
        cert = await issueOpcertWithColdKeySecret(aws, { secretId: ids.coldSigningKey, coldVerificationKey: coldVk, kesVerificationKey: kes.verificationKey, counter: choice.counter, kesPeriod: period });
      } catch (error) {
        secretError(error, "read the cold key");
      }
      newKesText = writeKesSigningKey(kes.signingKey);
      newCertText = writeOperationalCertificate(cert);
    } finally {
      wipe(kes.signingKey);
    }

    // Push, leader first: a failure before the standby leaves the leader untouched once rolled back.
    for (const target of targets) {
      journal.step = `push-${target.name}`;
      await saveRotationJournal(journal, lease);
      await control.checkpoint(`push-${target.name}`);
      await assertRolesUnchanged(config, aws, inventory.parameters.leader!, producers, leader, target, `push-${target.name}`);
      const dir = `${journal.backupDir}/${target.name}`;
      await backUpPair(target.connection, target.files, dir);
      journal.pushed.push(target.name);
      await saveRotationJournal(journal, lease);
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
      await saveRotationJournal(journal, lease);
      await putHotPair(store, ids, newKesText, newCertText);
      await store.put(ids.opcertCounter, writeOpcertCounter({ next: choice.counter + 1, coldVerificationKey: coldVk }));
    } catch (error) {
      secretError(error, "update the secrets");
    }

    if (leaderTarget) {
      journal.step = "reload";
      await control.checkpoint("reload");
      await assertRolesUnchanged(config, aws, inventory.parameters.leader!, producers, leader, leaderTarget, "reload");
      const how = await reloadNode(config, leaderTarget.connection, Boolean(options.restart));
      journal.leaderReloaded = true;
      await saveRotationJournal(journal, lease);

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
    const rolledBack = await rollBack(config, await inTheirRolesNow(config, targets), journal, store, ids, previousSecrets);
    control.uninstall();
    for (const t of targets) {
      results.push({ host: t.name, status: "failed", exitCode: null, stdout: "", stderr: "", durationMs: ctx.elapsedMs, error: { step: journal.step, message: (error as Error).message, remedy: rolledBack.ok ? "previous pair restored" : "see the rollback report" } });
    }
    await ctx.audit(new GroupResult(results, ctx.elapsedMs), { kesPeriod: period, counter: choice.counter, rolledBack: rolledBack.ok, step: journal.step });
    const what = error instanceof Interrupted ? error.message : `${journal.step} failed: ${(error as Error).message}`;
    if (ctx.out.json) ctx.out.data({ rotated: false, failedAt: journal.step, error: (error as Error).message, rollback: rolledBack });
    ctx.out.warn(`pool-ops: rotate-kes ${what}`);
    for (const line of rolledBack.report) ctx.out.warn(`  ${line}`);
    if (rolledBack.ok) await clearRotationJournal(inventory.pool, lease).catch((e: Error) => ctx.out.warn(`  the journal beside the lease could not be closed (${e.message}): the next changing command re-checks the pool`));
    else ctx.out.warn(`  journal kept at ${rotationJournalPath(inventory.pool)}`);
    return error instanceof Interrupted ? EXIT_ABORTED : EXIT_HOST_FAILURE;
  }
  control.uninstall();
  await clearRotationJournal(inventory.pool, lease).catch((e: Error) => ctx.out.warn(`pool-ops: the journal beside the lease could not be closed (${e.message}): the next changing command re-checks the pool and finds nothing to do`));

  // Verified: the previous pair is retired from every producer this run wrote to.
  const retired: string[] = [];
  for (const t of targets) {
    try {
      await retirePreviousPairs(config, t.connection);
      retired.push(t.name);
    } catch (error) {
      ctx.out.warn(`pool-ops: ${t.name}: the previous pair's backups could not be removed (${(error as Error).message}); remove ${layout.backupDir}/*-rotate-kes by hand`);
    }
  }

  for (const t of targets) results.push({ host: t.name, status: "changed", exitCode: 0, stdout: "", stderr: "", durationMs: ctx.elapsedMs, detail: { reloaded: t.isLeader } });
  await ctx.audit(new GroupResult(results, ctx.elapsedMs), { pool: poolBech32, kesPeriod: period, counter: choice.counter, expires: plan.expires, previousPairRetiredOn: retired });
  if (ctx.out.json) ctx.out.data({ rotated: true, ...plan, previousPairRetiredOn: retired, durationMs: ctx.elapsedMs });
  else {
    ctx.out.info(`rotated: ${leaderTarget ? `${leader} forges with` : "installed"} counter ${choice.counter} from KES period ${period}`);
    ctx.out.info(`expires ${utc(validity.expiresAt)}: ${plan.daysLeft} days left; the previous pair is removed from ${retired.length === targets.length ? "every producer" : retired.join(", ") || "no producer"}`);
  }
  return EXIT_OK;
}

function counterArg(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a non-negative integer");
  return Number(value);
}

// An interrupted rotation, found by another changing command: finished from the pool's state (a new pair everywhere
// unless every copy already agrees), the same as running rotate-kes again.
registerRecovery("rotate-kes", (ctx, _entry, lease) => rotateKes(ctx, {}, lease), { ownRunFinishes: true });

export function rotateKesCommand(): Command {
  return new Command("rotate-kes")
    .description("new KES key and op cert for both producers (the cold key read only by a short-lived signer child), reload the leader, verify, roll back on failure")
    .option("--restart", "restart the leader's node instead of a SIGHUP (a node that has not finished starting is always restarted)")
    .option("--counter <n>", "issue number of the new cert (checked against the chain's bounds)", counterArg)
    .addOption(new Option("--only <producer>", "rotate one producer only, when the other is down: the leader (primary) or the standby").choices(["primary", "standby"]))
    .option("--force", "rotate even when the cert already starts at the current KES period")
    .option("--revoke", "issue counter m + 1 (the chain's last + 1, needs kes.onChainCounterCommand) so every older pair stops being valid on chain")
    .addOption(leaseWaitOption())
    .action(opsAction(async (ctx, options: RotateKesOptions & LeaseOptions) => withPoolLease(ctx, "rotate-kes", options, (lease) => rotateKes(ctx, options, lease))));
}

