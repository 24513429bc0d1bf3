/**
 * `pool-ops keys import`: a key set from files, checked to belong together, into the pool's five secrets, under the
 * pool's lease. The signing keys are read by this process from the operator's files, re-serialised and put; each
 * byte array that held one is wiped (README, Security: what is and is not guaranteed).
 */
import { join } from "node:path";
import type { CardanoNetwork } from "../../../config/networks";
import { poolSecretNames } from "../../../config/names";
import { newPairVersionId } from "../../aws/hot-pair-secrets";
import type { SecretStore } from "../../aws/secret-store";
import {
  coldVerificationKey,
  equalBytes,
  KeyMaterialError,
  kesVerificationKey,
  opcertValidity,
  poolIdBech32,
  poolIdHex,
  readColdSigningKey,
  readKesSigningKey,
  readOperationalCertificate,
  readOpcertCounter,
  readVerifiedOperationalCertificate,
  readVrfSigningKey,
  wipe,
  writeColdSigningKey,
  writeKesSigningKey,
  writeOperationalCertificate,
  writeOpcertCounter,
  writeVrfSigningKey,
} from "../../cardano";
import { NO_LEASE, type LeaseGuard } from "../../lease/lease-guard";
import { thisProcess } from "../../lease/lease-record";
import { describeJournalEntry, type JournalEntry } from "../../lease/pool-journal";
import { registerRecovery } from "../../lease/recoveries";
import { OpsError } from "../../remote/result";
import { describeCold, KeysCommandError } from "./errors";
import { KEY_FILE_NAMES, readSource, type KeysIo } from "./key-files";

/** Paths of the files `import` reads. */
export interface ImportFiles {
  readonly coldSigningKey: string;
  readonly opcertCounter: string;
  readonly kesSigningKey: string;
  readonly vrfSigningKey: string;
  readonly opcert: string;
}

export function importFilesIn(dir: string): ImportFiles {
  return {
    coldSigningKey: join(dir, KEY_FILE_NAMES.coldSigningKey),
    opcertCounter: join(dir, KEY_FILE_NAMES.opcertCounter),
    kesSigningKey: join(dir, KEY_FILE_NAMES.kesSigningKey),
    vrfSigningKey: join(dir, KEY_FILE_NAMES.vrfSigningKey),
    opcert: join(dir, KEY_FILE_NAMES.opcert),
  };
}

export interface ImportOptions {
  readonly files: ImportFiles;
  readonly pool: string;
  readonly dryRun: boolean;
  /** When given, an expired cert is refused and a not-yet-valid one reported. */
  readonly network?: CardanoNetwork | undefined;
}

export interface ImportEntry {
  /** Which secret of the pool (key of `poolSecretNames`). */
  readonly secret: keyof ImportFiles;
  readonly secretId: string;
  readonly tier: "cold" | "hot";
  readonly from: string;
  readonly envelopeType: string;
  /** Version id after the put (absent in a dry run or when not reached). */
  readonly versionId?: string;
}

export interface ImportResult {
  readonly pool: string;
  readonly poolId: string;
  readonly poolIdBech32: string;
  readonly opcertCounter: number;
  readonly opcertKesPeriod: number;
  readonly nextCounter: number;
  readonly dryRun: boolean;
  readonly entries: readonly ImportEntry[];
  readonly warnings: readonly string[];
  /** What to do with the local files afterwards. */
  readonly reminder: string;
}

/**
 * Validate that the five files belong together, then put the cold ones (signing key, counter) into the pool's
 * cold secrets and the hot ones (KES key, VRF key, op cert) into its producer secrets. Values are re-serialised
 * canonical text envelopes. The op cert is put last, so a failure midway never leaves a cert naming a KES key
 * the producer secrets do not hold.
 */
export async function importKeys(
  options: ImportOptions,
  deps: {
    io: KeysIo;
    store: SecretStore;
    now: () => Date;
    /** Runs the puts under the pool's lease, once the key set is validated (withLease). @default no lease */
    holdLease?: (run: (lease: LeaseGuard) => Promise<void>) => Promise<void>;
  },
): Promise<ImportResult> {
  const { files, pool } = options;
  const names = poolSecretNames(pool);
  const texts = {
    coldSigningKey: await readSource(deps.io, files.coldSigningKey),
    opcertCounter: await readSource(deps.io, files.opcertCounter),
    kesSigningKey: await readSource(deps.io, files.kesSigningKey),
    vrfSigningKey: await readSource(deps.io, files.vrfSigningKey),
    opcert: await readSource(deps.io, files.opcert),
  };
  const coldSk = readColdSigningKey(texts.coldSigningKey, files.coldSigningKey);
  const kesSk = readKesSigningKey(texts.kesSigningKey, files.kesSigningKey);
  const vrfSk = readVrfSigningKey(texts.vrfSigningKey, files.vrfSigningKey);
  try {
    const coldVk = coldVerificationKey(coldSk);
    const counter = readOpcertCounter(texts.opcertCounter, files.opcertCounter);
    if (!equalBytes(counter.coldVerificationKey, coldVk)) {
      throw new KeyMaterialError(
        files.opcertCounter,
        `counter belongs to another cold key (${describeCold(counter.coldVerificationKey)}), not to the key in ` +
          `${files.coldSigningKey} (${describeCold(coldVk)})`,
      );
    }
    const cert = readOperationalCertificate(texts.opcert, files.opcert);
    if (!equalBytes(cert.coldVerificationKey, coldVk)) {
      throw new KeyMaterialError(
        files.opcert,
        `op cert was issued by another cold key (${describeCold(cert.coldVerificationKey)}), not by the key in ` +
          `${files.coldSigningKey} (${describeCold(coldVk)})`,
      );
    }
    readVerifiedOperationalCertificate(texts.opcert, files.opcert, coldVk);
    if (!equalBytes(kesVerificationKey(kesSk, files.kesSigningKey), cert.kesVerificationKey)) {
      throw new KeyMaterialError(
        files.kesSigningKey,
        `KES signing key does not match the KES verification key in ${files.opcert}`,
      );
    }
    if (counter.next <= cert.counter) {
      throw new KeyMaterialError(
        files.opcertCounter,
        `counter ${counter.next} is not ahead of ${files.opcert} (counter ${cert.counter}): the counter file is ` +
          `stale, the next certificate must carry ${cert.counter + 1}`,
      );
    }
    const warnings: string[] = [];
    if (options.network) {
      const v = opcertValidity(cert.kesPeriod, deps.now(), options.network);
      if (v.status === "expired") {
        throw new KeyMaterialError(
          files.opcert,
          `op cert expired at ${v.expiresAt.toISOString()} (start period ${cert.kesPeriod}, current ` +
            `${options.network} period ${v.currentPeriod}): issue a new one before importing`,
        );
      }
      if (v.status === "not-yet-valid") {
        warnings.push(
          `${files.opcert}: op cert starts at KES period ${cert.kesPeriod}, after the current ${options.network} ` +
            `period ${v.currentPeriod}: the producer cannot forge with it yet`,
        );
      }
    }

    const values: Record<keyof ImportFiles, { value: string; type: string; tier: "cold" | "hot" }> = {
      opcertCounter: { value: writeOpcertCounter(counter), type: "NodeOperationalCertificateIssueCounter", tier: "cold" },
      coldSigningKey: { value: writeColdSigningKey(coldSk), type: "StakePoolSigningKey_ed25519", tier: "cold" },
      kesSigningKey: { value: writeKesSigningKey(kesSk), type: "KesSigningKey_ed25519_kes_2^6", tier: "hot" },
      vrfSigningKey: { value: writeVrfSigningKey(vrfSk), type: "VrfSigningKey_PraosVRF", tier: "hot" },
      opcert: { value: writeOperationalCertificate(cert), type: "NodeOperationalCertificate", tier: "hot" },
    };
    const order: (keyof ImportFiles)[] = ["opcertCounter", "coldSigningKey", "kesSigningKey", "vrfSigningKey", "opcert"];
    const entries: ImportEntry[] = [];
    // The KES key and op cert get one version id (KES first in `order`): a producer booting during the import fetches
    // a pair that belongs together (ops/aws/hot-pair-secrets.ts).
    const pairVersionId = newPairVersionId();
    const putAll = async (lease: LeaseGuard) => {
      if (!options.dryRun) await journalImport(lease, poolIdBech32(coldVk), order.map((s) => names[s]));
      for (const secret of order) {
        const v = values[secret];
        const base = { secret, secretId: names[secret], tier: v.tier, from: files[secret], envelopeType: v.type };
        if (options.dryRun) {
          entries.push(base);
          continue;
        }
        try {
          // Each put only while the pool's lease is still this command's.
          lease.assertHeld();
          await lease.journal?.write(importEntry(poolIdBech32(coldVk), names[secret], entries.map((e) => e.secretId)));
          const { versionId } = await deps.store.put(names[secret], v.value, secret === "kesSigningKey" || secret === "opcert" ? { versionId: pairVersionId } : {});
          entries.push({ ...base, versionId });
        } catch (err) {
          const done = entries.map((e) => e.secretId);
          const doneText = done.length > 0 ? `already put: ${done.join(", ")}` : "nothing was put";
          const message = err instanceof Error ? err.message : String(err);
          throw new KeysCommandError(`import stopped at ${names[secret]}: ${message} (${doneText}; fix and re-run)`);
        }
      }
      // All five are one key set again: nothing for the next command to finish.
      await lease.journal?.clear();
    };
    // The key set is valid: only now is the pool's lease taken (a dry run takes none), and the puts made under it.
    if (options.dryRun || !deps.holdLease) await putAll(NO_LEASE);
    else await deps.holdLease(putAll);
    const list = Object.values(files).join(" ");
    return {
      pool,
      poolId: poolIdHex(coldVk),
      poolIdBech32: poolIdBech32(coldVk),
      opcertCounter: cert.counter,
      opcertKesPeriod: cert.kesPeriod,
      nextCounter: counter.next,
      dryRun: options.dryRun,
      entries,
      warnings,
      reminder: options.dryRun
        ? "dry run: nothing was put; the files are unchanged"
        : "The key set is now in Secrets Manager. Keep an offline, encrypted backup of the cold key and counter " +
          `(${files.coldSigningKey}, ${files.opcertCounter}), then wipe the local copies: shred -u ${list}`,
    };
  } finally {
    wipe(coldSk, kesSk, vrfSk);
  }
}

const IMPORT_COMMAND = "keys import";

/** The journal entry of an import in progress: which secrets it has put (names only, never a value). */
function importEntry(pool: string, step: string, put: readonly string[]): JournalEntry {
  return { command: IMPORT_COMMAND, step, startedAt: new Date().toISOString(), holder: thisProcess(), facts: { pool, put } };
}

/**
 * Before the first put: an unfinished change of another command is not this one's to finish (keys import has neither
 * the pool's config nor its hosts), so it stops, naming it; an interrupted import is finished by this one (every
 * secret is put again). The entry written next marks the secrets as being replaced.
 */
async function journalImport(lease: LeaseGuard, pool: string, secrets: readonly string[]): Promise<void> {
  const unfinished = await lease.journal?.read();
  if (unfinished && unfinished.command !== IMPORT_COMMAND) {
    throw new KeysCommandError(`an unfinished change is recorded beside the pool's lease: ${describeJournalEntry(unfinished)}; nothing was put (run pool-ops ${unfinished.within?.command ?? unfinished.command} with the pool's config to finish it, then import)`);
  }
  await lease.journal?.write(importEntry(pool, secrets[0]!, []));
}

// Another changing command after an interrupted import: the secrets may hold two key sets, which only the operator's
// files can make one again.
registerRecovery(
  IMPORT_COMMAND,
  async (_ctx, entry) => {
    const put = Array.isArray(entry.facts.put) ? entry.facts.put.join(", ") || "none" : "unknown";
    throw new OpsError("-", "recover", `an interrupted keys import (${describeJournalEntry(entry)}; already put: ${put}) may have left the pool's secrets holding two key sets; nothing was changed`, "run pool-ops keys import again with the same key files (it puts all five), then this command");
  },
  { ownRunFinishes: true },
);
