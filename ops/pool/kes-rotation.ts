/**
 * rotate-kes's steps on the hosts, apart from the command's flow (ops/commands/rotate-kes.ts): what a run records
 * (its journal: public facts only, never key bytes), backing up and restoring a producer's pair, the leader's reload
 * (a SIGHUP once its node has finished starting, else a restart: a SIGHUP during startup is NotEffective, cardano-node
 * `Run.hs` @11.0.1) and the rollback in reverse order.
 */
import { hostLayout, type CredentialFiles } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import { putHotPair } from "../aws/hot-pair-secrets";
import type { SecretStore } from "../aws/secret-store";
import type { OperationalCertificate } from "../cardano";
import type { Connection } from "../remote/connection";
import { OpsError } from "../remote/result";
import { startupDone } from "./forging";
import { metricValue, readNodeMetrics } from "./node-metrics";

export interface Target {
  readonly name: string;
  readonly isLeader: boolean;
  /** Where this producer keeps the credentials: active paths on the leader, held ones on the standby. */
  readonly files: CredentialFiles;
  readonly connection: Connection;
  cert?: OperationalCertificate;
}

/** What was changed so far, so a rollback knows what to undo. Only public facts: never key bytes. */
export interface Journal {
  readonly pool: string;
  readonly startedAt: string;
  step: string;
  readonly backupDir: string;
  pushed: string[];
  secretsUpdated: boolean;
  leaderReloaded: boolean;
}

/** Reads the node's view on the leader: KES period, cert start, remaining periods, forging. */
export async function leaderView(config: PoolConfig, connection: Connection) {
  const metrics = await readNodeMetrics(connection, hostLayout(config).nodeConfig, config.node.metricsPort);
  if (!metrics) return undefined;
  return {
    currentKesPeriod: metricValue(metrics, "currentKESPeriod"),
    certStart: metricValue(metrics, "operationalCertificateStartKESPeriod"),
    remaining: metricValue(metrics, "remainingKESPeriods"),
    forging: metricValue(metrics, "forging_enabled"),
  };
}

/** The names of a pair's two files inside a run's backup directory. */
const BACKUP_NAMES = { kesKey: "kes.skey", opcert: "node.cert" } as const;

/**
 * Copies a producer's current pair into the run's backup directory (owner and mode kept), made root-only if missing.
 * Root copies through ops/remote/safe-files.py: a link the node user planted at either file or on the way is refused,
 * never followed. Both files must be there (the preflight read the cert): a missing one fails the step.
 */
export async function backUpPair(connection: Connection, files: CredentialFiles, dir: string): Promise<void> {
  const step = "back up the current pair";
  const { absent } = await connection.backupFiles(dir, [{ path: files.kesKey, as: BACKUP_NAMES.kesKey }, { path: files.opcert, as: BACKUP_NAMES.opcert }], { step });
  if (absent.length > 0) throw new OpsError(connection.name, step, `${absent.join(" and ")} missing: nothing to back up`, "check the producer's credentials (pool-ops kes status), then run rotate-kes again");
}

/** Puts the backed-up pair back, each file through a root-only staging copy and a rename (never onto a link). */
export async function restorePair(connection: Connection, files: CredentialFiles, dir: string): Promise<void> {
  await connection.restoreFiles(dir, [{ path: files.kesKey, from: BACKUP_NAMES.kesKey }, { path: files.opcert, from: BACKUP_NAMES.opcert }], { step: "restore the previous pair" });
}

export async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<{ ok: boolean; last: T }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const last = await read();
    if (ok(last)) return { ok: true, last };
    if (Date.now() > until) return { ok: false, last };
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGHUP when the node has finished starting (it re-reads its credentials then), else a restart. */
export async function reloadNode(config: PoolConfig, connection: Connection, restart: boolean): Promise<"restart" | "SIGHUP"> {
  const useRestart = restart || !(await startupDone(config, connection));
  const command = useRestart ? config.node.service.restart : config.node.service.reload;
  await connection.runChecked(command, { step: useRestart ? "restart the node" : "reload the node (SIGHUP)" });
  return useRestart ? "restart" : "SIGHUP";
}

/** Undo in reverse: host files, a second reload of the leader, then the secrets. Reports every step. */
export async function rollBack(
  config: PoolConfig,
  targets: readonly Target[],
  journal: Journal,
  store: SecretStore,
  ids: Record<"coldSigningKey" | "opcertCounter" | "kesSigningKey" | "opcert", string>,
  previous: Partial<Record<"kesSigningKey" | "opcert" | "opcertCounter", string>>,
): Promise<{ ok: boolean; report: string[] }> {
  const report: string[] = [];
  let ok = true;
  for (const target of targets.filter((t) => journal.pushed.includes(t.name))) {
    try {
      await restorePair(target.connection, target.files, `${journal.backupDir}/${target.name}`);
      report.push(`${target.name}: previous KES key and op cert restored`);
    } catch (error) {
      ok = false;
      report.push(`${target.name}: could NOT restore (${(error as Error).message}); the previous pair is in ${journal.backupDir}/${target.name} on the host`);
    }
  }
  const leader = targets.find((t) => t.isLeader);
  if (leader && journal.leaderReloaded) {
    try {
      const how = await reloadNode(config, leader.connection, false);
      const back = await waitFor(() => leaderView(config, leader.connection), (v) => v?.forging === 1 && v.certStart === leader.cert?.kesPeriod, how === "restart" ? config.pushConfig.healthTimeoutSeconds * 1000 : 15_000);
      if (back.ok) report.push(`${leader.name}: reloaded, forging again with the previous cert (counter ${leader.cert?.counter})`);
      else {
        ok = false;
        report.push(`${leader.name}: reloaded but not forging with the previous cert: ${JSON.stringify(back.last ?? "no metrics")}; check it now (pool-ops kes status)`);
      }
    } catch (error) {
      ok = false;
      report.push(`${leader.name}: reload after restore failed: ${(error as Error).message}`);
    }
  } else if (leader && journal.pushed.includes(leader.name)) {
    report.push(`${leader.name}: never reloaded, so it kept forging with the previous cert throughout`);
  }
  if (journal.secretsUpdated) {
    // The pair as one unit again (one version id for both: ops/aws/hot-pair-secrets.ts), then the counter.
    const restore = async (what: string, write: () => Promise<unknown>) => {
      try {
        await write();
      } catch (error) {
        ok = false;
        report.push(`secret ${what}: could NOT restore the previous value (${(error as Error).message}); its previous version is AWSPREVIOUS`);
      }
    };
    const { kesSigningKey, opcert, opcertCounter } = previous;
    if (kesSigningKey !== undefined && opcert !== undefined) await restore(`${ids.kesSigningKey} and ${ids.opcert}`, () => putHotPair(store, ids, kesSigningKey, opcert));
    if (opcertCounter !== undefined) await restore(ids.opcertCounter, () => store.put(ids.opcertCounter, opcertCounter));
    if (ok) report.push("secrets: previous KES key, op cert and counter restored");
  }
  if (journal.pushed.length === 0 && !journal.secretsUpdated) report.push("nothing had been changed");
  return { ok, report };
}

