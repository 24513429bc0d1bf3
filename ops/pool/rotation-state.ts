/**
 * rotate-kes's view of the pool beyond one host: its journal (on this machine and beside the lease), whether every
 * copy of the hot pair agrees, and the producers in the roles they have now (for a rollback).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PoolConfig } from "../../config/schema";
import { SecretStoreError, type SecretStore } from "../aws/secret-store";
import { stateDir } from "../context";
import type { LeaseGuard } from "../lease/lease-guard";
import { thisProcess } from "../lease/lease-record";
import { OpsError } from "../remote/result";
import { comparePairs, hostPairCopy, secretPairCopy, type PairAgreement, type PairCopy } from "./hot-pair";
import type { Journal, Target } from "./kes-rotation";
import { credentialFilesFor, hostModeNow } from "./producer-roles-now";

export function rotationJournalPath(pool: string): string {
  return join(stateDir(), `rotate-kes-${pool}.json`);
}

/**
 * The run's journal, on this machine (`~/.pool-ops`, for the operator to read) and beside the lease (where the next
 * changing command, from any machine, finds it: ops/lease/pool-journal.ts). Public facts only.
 */
export async function saveRotationJournal(journal: Journal, lease: LeaseGuard): Promise<void> {
  const file = rotationJournalPath(journal.pool);
  mkdirSync(join(file, ".."), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
  await lease.journal?.write({ command: "rotate-kes", step: journal.step, startedAt: journal.startedAt, holder: thisProcess(), facts: { ...journal } });
}

export async function clearRotationJournal(pool: string, lease: LeaseGuard): Promise<void> {
  rmSync(rotationJournalPath(pool), { force: true });
  await lease.journal?.clear();
}

/** Whether the leader's active pair, the standby's held pair and the two hot secrets are one and the same pair. */
export async function pairAgreement(targets: readonly Target[], store: SecretStore, ids: { readonly kesSigningKey: string; readonly opcert: string }): Promise<PairAgreement> {
  const copies: PairCopy[] = [];
  for (const t of targets) copies.push(await hostPairCopy(t.connection, t.files, `${t.name} (${t.isLeader ? "leader, active paths" : "standby, held paths"})`));
  let kes: string | undefined;
  let cert: string | undefined;
  try {
    kes = (await store.get(ids.kesSigningKey)).value;
    cert = (await store.get(ids.opcert)).value;
  } catch (error) {
    if (error instanceof SecretStoreError) throw new OpsError("-", "read the hot secrets", error.message, "check the operator's AWS credentials, region and the secret (pool-ops keys import)");
    throw error;
  }
  copies.push(secretPairCopy(kes, cert));
  return comparePairs(copies);
}

/**
 * The targets as a rollback must treat them: each host restored into the paths of the role its node has now (its
 * environment file), and reloaded only if it leads now. A host whose mode cannot be read keeps its planned role.
 */
export async function inTheirRolesNow(config: PoolConfig, targets: readonly Target[]): Promise<Target[]> {
  const now: Target[] = [];
  for (const t of targets) {
    const mode = await hostModeNow(config, t.connection).catch(() => undefined);
    if (mode === undefined || (mode === "leader") === t.isLeader) now.push(t);
    else now.push({ ...t, isLeader: mode === "leader", files: credentialFilesFor(config, mode) });
  }
  return now;
}
