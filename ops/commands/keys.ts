/**
 * `pool-ops keys`: generate a test-network key set, issue an op cert (cardano-cli compatible), import a key set
 * into Secrets Manager, show what a key set or the pool's secrets hold. The logic is plain async functions with
 * injected I/O (files, clock, secret store); `keysCommand()` wires them to commander.
 *
 * The cold signing key is only ever read from a file or a secret into a byte array that is wiped after use. It is
 * never printed or logged, and the only files it is written to are `generate`'s explicit output.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isCardanoNetwork, type CardanoNetwork } from "../../config/networks";
import { poolSecretNames } from "../../config/names";
import { MemorySecretStore, SecretsManagerSecretStore, SecretStoreError, type SecretStore } from "../aws/secret-store";
import {
  assertCounterAcceptable,
  assertIssuableKesPeriod,
  bytesToHex,
  coldVerificationKey,
  equalBytes,
  generateColdKey,
  generateKesKey,
  generateVrfKey,
  issueOperationalCertificate,
  KeyMaterialError,
  kesPeriodAt,
  kesVerificationKey,
  opcertValidity,
  poolIdBech32,
  poolIdHex,
  readColdSigningKey,
  readColdVerificationKey,
  readKesSigningKey,
  readKesVerificationKey,
  readOperationalCertificate,
  readOpcertCounter,
  readVerifiedOperationalCertificate,
  readVrfSigningKey,
  wipe,
  writeColdSigningKey,
  writeColdVerificationKey,
  writeKesSigningKey,
  writeKesVerificationKey,
  writeOperationalCertificate,
  writeOpcertCounter,
  writeVrfSigningKey,
  writeVrfVerificationKey,
  type OperationalCertificate,
  type OpcertCounter,
} from "../cardano";
import { EXIT_LEASE_HELD } from "../context";
import { LeaseHeldError } from "../lease/lease-errors";
import { NO_LEASE, type LeaseGuard } from "../lease/lease-guard";
import { leaseWaitOption } from "../lease/wait-option";
import { withLease } from "../lease/with-lease";
import { OpsError } from "../remote/result";

/** A usage or state error of a keys command (not about the bytes of a key): message says what to do. */
export class KeysCommandError extends Error {
  override readonly name = "KeysCommandError";
}

// ---------------------------------------------------------------------------------------------------------------
// I/O seams

/** File operations the commands need; `nodeKeysIo` is the real one. */
export interface KeysIo {
  readText(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  mkdirp(path: string, mode: number): Promise<void>;
  /** Create a new file with `mode`; fails (EEXIST) if it exists. */
  writeNew(path: string, text: string, mode: number): Promise<void>;
  /** Replace `path` atomically: temp file in the same directory, fsync, rename. Keeps an existing file's mode. */
  writeAtomic(path: string, text: string, defaultMode: number): Promise<void>;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY).catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  } finally {
    await handle.close();
  }
}

export const nodeKeysIo: KeysIo = {
  readText: (path) => readFile(path, "utf8"),
  exists: async (path) => {
    try {
      await stat(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  },
  mkdirp: async (path, mode) => {
    await mkdir(path, { recursive: true, mode });
  },
  writeNew: async (path, text, mode) => {
    const handle = await open(path, "wx", mode);
    try {
      await handle.writeFile(text, "utf8");
      await handle.chmod(mode); // umask must not widen nor narrow what we asked for
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  writeAtomic: async (path, text, defaultMode) => {
    const mode = await stat(path).then(
      (s) => s.mode & 0o777,
      () => defaultMode,
    );
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    const handle = await open(temp, "wx", mode);
    try {
      await handle.writeFile(text, "utf8");
      await handle.chmod(mode);
      await handle.sync();
      await handle.close();
      await rename(temp, path);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await fsyncDir(dirname(path));
  },
};

async function readSource(io: KeysIo, path: string): Promise<string> {
  try {
    return await io.readText(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : String(err);
    throw new KeyMaterialError(path, reason);
  }
}

/** File names of a key set in a directory (as `generate` writes them and `import`/`show` read them). */
export const KEY_FILE_NAMES = {
  coldSigningKey: "cold.skey",
  coldVerificationKey: "cold.vkey",
  opcertCounter: "cold.counter",
  vrfSigningKey: "vrf.skey",
  vrfVerificationKey: "vrf.vkey",
  kesSigningKey: "kes.skey",
  kesVerificationKey: "kes.vkey",
  opcert: "node.cert",
} as const;

const SIGNING_KEY_MODE = 0o600;
const PUBLIC_FILE_MODE = 0o644;

// ---------------------------------------------------------------------------------------------------------------
// generate

export interface GenerateOptions {
  readonly network: CardanoNetwork;
  readonly outDir: string;
}

export interface GenerateResult {
  readonly network: CardanoNetwork;
  readonly outDir: string;
  readonly files: readonly string[];
  readonly poolId: string;
  readonly poolIdBech32: string;
  readonly kesPeriod: number;
  readonly opcertCounter: number;
}

/**
 * A full key set for a test network, as cardano-cli would leave it after `node key-gen`, `node key-gen-VRF`,
 * `node key-gen-KES` and `node issue-op-cert` at the current KES period (cert counter 0, counter file at 1).
 * Refuses mainnet, and refuses to overwrite any existing file.
 */
export async function generateKeySet(
  options: GenerateOptions,
  deps: { io: KeysIo; now: () => Date },
): Promise<GenerateResult> {
  const { network, outDir } = options;
  if ((network as string) === "mainnet") {
    throw new KeysCommandError(
      "keys generate makes keys for test networks only (preprod, preview). For mainnet, make the cold key on an " +
        "offline machine with cardano-cli and bring the key set in with `pool-ops keys import`.",
    );
  }
  if (!isCardanoNetwork(network)) throw new KeysCommandError(`unknown network ${network}`);
  const paths = Object.fromEntries(
    Object.entries(KEY_FILE_NAMES).map(([k, name]) => [k, join(outDir, name)]),
  ) as Record<keyof typeof KEY_FILE_NAMES, string>;
  const existing: string[] = [];
  for (const path of Object.values(paths)) if (await deps.io.exists(path)) existing.push(path);
  if (existing.length > 0) {
    throw new KeysCommandError(
      `refusing to overwrite existing key files: ${existing.join(", ")} (choose an empty --out directory)`,
    );
  }

  const now = deps.now();
  const kesPeriod = kesPeriodAt(now, network);
  const cold = generateColdKey();
  const vrf = generateVrfKey();
  const kes = generateKesKey();
  try {
    const cert = issueOperationalCertificate({
      kesVerificationKey: kes.verificationKey,
      coldSigningKey: cold.signingKey,
      counter: 0,
      kesPeriod,
    });
    const files: [string, string, number][] = [
      [paths.coldSigningKey, writeColdSigningKey(cold.signingKey), SIGNING_KEY_MODE],
      [paths.coldVerificationKey, writeColdVerificationKey(cold.verificationKey), PUBLIC_FILE_MODE],
      [paths.opcertCounter, writeOpcertCounter({ next: 1, coldVerificationKey: cold.verificationKey }), PUBLIC_FILE_MODE],
      [paths.vrfSigningKey, writeVrfSigningKey(vrf.signingKey), SIGNING_KEY_MODE],
      [paths.vrfVerificationKey, writeVrfVerificationKey(vrf.verificationKey), PUBLIC_FILE_MODE],
      [paths.kesSigningKey, writeKesSigningKey(kes.signingKey), SIGNING_KEY_MODE],
      [paths.kesVerificationKey, writeKesVerificationKey(kes.verificationKey), PUBLIC_FILE_MODE],
      [paths.opcert, writeOperationalCertificate(cert), PUBLIC_FILE_MODE],
    ];
    await deps.io.mkdirp(outDir, 0o700);
    for (const [path, text, mode] of files) await deps.io.writeNew(path, text, mode);
    return {
      network,
      outDir,
      files: files.map(([p]) => p),
      poolId: poolIdHex(cold.verificationKey),
      poolIdBech32: poolIdBech32(cold.verificationKey),
      kesPeriod,
      opcertCounter: 0,
    };
  } finally {
    wipe(cold.signingKey, vrf.signingKey, kes.signingKey);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// issue-opcert

export interface IssueOpcertOptions {
  readonly kesVkeyFile: string;
  readonly coldSkeyFile: string;
  readonly counterFile: string;
  readonly kesPeriod: number;
  readonly outFile: string;
  /** When given, the period is checked against the current one: not in the future, not already expired. */
  readonly network?: CardanoNetwork | undefined;
  /** Last counter seen on chain for this pool: the ledger accepts only m ≤ n ≤ m + 1. */
  readonly lastIssuedCounter?: number | undefined;
}

export interface IssueOpcertResult {
  readonly outFile: string;
  readonly counterFile: string;
  readonly poolId: string;
  readonly counter: number;
  readonly kesPeriod: number;
  readonly nextCounter: number;
}

function describeCold(vk: Uint8Array): string {
  return `pool ${poolIdBech32(vk)}`;
}

/**
 * `cardano-cli node issue-op-cert` with the same inputs and the same output bytes: the cert carries the counter
 * file's number, and the counter file is advanced by one. Everything is checked before anything is written; the
 * counter file is written first (as cardano-cli does), each file atomically (temp + rename).
 */
export async function issueOpcertFiles(
  options: IssueOpcertOptions,
  deps: { io: KeysIo; now: () => Date },
): Promise<IssueOpcertResult> {
  const { io } = deps;
  if (!Number.isSafeInteger(options.kesPeriod) || options.kesPeriod < 0) {
    throw new KeyMaterialError("--kes-period", `expected a non-negative integer, got ${options.kesPeriod}`);
  }
  const kesVk = readKesVerificationKey(await readSource(io, options.kesVkeyFile), options.kesVkeyFile);
  const counter = readOpcertCounter(await readSource(io, options.counterFile), options.counterFile);

  let existing: OperationalCertificate | undefined;
  if (await io.exists(options.outFile)) {
    const text = await readSource(io, options.outFile);
    try {
      existing = readOperationalCertificate(text, options.outFile);
    } catch (err) {
      if (!(err instanceof KeyMaterialError)) throw err;
      throw new KeysCommandError(
        `${options.outFile}: exists and is not an operational certificate; refusing to overwrite it (${err.problem})`,
      );
    }
  }
  if (options.lastIssuedCounter !== undefined) {
    assertCounterAcceptable(counter.next, options.lastIssuedCounter, options.counterFile);
  }
  if (options.network) assertIssuableKesPeriod(options.kesPeriod, deps.now(), options.network);

  const coldSk = readColdSigningKey(await readSource(io, options.coldSkeyFile), options.coldSkeyFile);
  try {
    const coldVk = coldVerificationKey(coldSk);
    if (!equalBytes(counter.coldVerificationKey, coldVk)) {
      throw new KeyMaterialError(
        options.counterFile,
        `counter belongs to another cold key (${describeCold(counter.coldVerificationKey)}), not to the key in ` +
          `${options.coldSkeyFile} (${describeCold(coldVk)})`,
      );
    }
    if (existing && equalBytes(existing.coldVerificationKey, coldVk) && existing.counter >= counter.next) {
      throw new KeyMaterialError(
        options.counterFile,
        `counter ${counter.next} is below the last issued one: ${options.outFile} already holds a certificate with ` +
          `counter ${existing.counter}. The counter file is stale (restored from an old copy?); the next certificate ` +
          `must carry ${existing.counter + 1}`,
      );
    }
    const cert = issueOperationalCertificate({
      kesVerificationKey: kesVk,
      coldSigningKey: coldSk,
      counter: counter.next,
      kesPeriod: options.kesPeriod,
    });
    const nextCounter: OpcertCounter = { next: counter.next + 1, coldVerificationKey: coldVk };
    await io.writeAtomic(options.counterFile, writeOpcertCounter(nextCounter), PUBLIC_FILE_MODE);
    await io.writeAtomic(options.outFile, writeOperationalCertificate(cert), PUBLIC_FILE_MODE);
    return {
      outFile: options.outFile,
      counterFile: options.counterFile,
      poolId: poolIdBech32(coldVk),
      counter: cert.counter,
      kesPeriod: cert.kesPeriod,
      nextCounter: nextCounter.next,
    };
  } finally {
    wipe(coldSk);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// import

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
    const putAll = async (lease: LeaseGuard) => {
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
          const { versionId } = await deps.store.put(names[secret], v.value);
          entries.push({ ...base, versionId });
        } catch (err) {
          const done = entries.map((e) => e.secretId);
          const doneText = done.length > 0 ? `already put: ${done.join(", ")}` : "nothing was put";
          const message = err instanceof Error ? err.message : String(err);
          throw new KeysCommandError(`import stopped at ${names[secret]}: ${message} (${doneText}; fix and re-run)`);
        }
      }
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

// ---------------------------------------------------------------------------------------------------------------
// show

export type ShowSource =
  | {
      readonly kind: "files";
      /** Op cert (required) and optional counter, cold vkey and KES vkey files. */
      readonly opcert: string;
      readonly opcertCounter?: string | undefined;
      readonly coldVerificationKey?: string | undefined;
      readonly kesVerificationKey?: string | undefined;
    }
  | { readonly kind: "secrets"; readonly pool: string; readonly store: SecretStore };

export interface KeySummary {
  readonly source: string;
  readonly network: CardanoNetwork;
  readonly poolId: string;
  readonly poolIdBech32: string;
  readonly coldVerificationKey: string;
  readonly kesVerificationKey: string;
  /** Next issue number in the counter (null when no counter was available). */
  readonly counterNext: number | null;
  readonly opcert: {
    readonly counter: number;
    readonly startPeriod: number;
    readonly expiryPeriod: number;
    readonly expiresAt: string;
    readonly currentPeriod: number;
    readonly periodsLeft: number;
    readonly daysLeft: number;
    readonly status: "valid" | "not-yet-valid" | "expired";
  };
  /** Inconsistencies found between the pieces (counter of another key, stale counter, KES vk mismatch). */
  readonly warnings: readonly string[];
}

/** The directory layout of `show --dir`: only public files are read (never a signing key). */
export function showFilesIn(dir: string): Extract<ShowSource, { kind: "files" }> {
  return {
    kind: "files",
    opcert: join(dir, KEY_FILE_NAMES.opcert),
    opcertCounter: join(dir, KEY_FILE_NAMES.opcertCounter),
    coldVerificationKey: join(dir, KEY_FILE_NAMES.coldVerificationKey),
    kesVerificationKey: join(dir, KEY_FILE_NAMES.kesVerificationKey),
  };
}

/**
 * Pool id, keys, counter and cert validity from files or from the pool's secrets. Reads only the op cert, the
 * counter and verification keys: never a signing key (from Secrets Manager: only the opcert and counter secrets).
 */
export async function showKeys(
  source: ShowSource,
  network: CardanoNetwork,
  deps: { io: KeysIo; now: () => Date },
): Promise<KeySummary> {
  const warnings: string[] = [];
  let cert: OperationalCertificate;
  let counter: OpcertCounter | null = null;
  let label: string;
  if (source.kind === "files") {
    label = source.opcert;
    cert = readVerifiedOperationalCertificate(await readSource(deps.io, source.opcert), source.opcert);
    if (source.opcertCounter && (await deps.io.exists(source.opcertCounter))) {
      counter = readOpcertCounter(await readSource(deps.io, source.opcertCounter), source.opcertCounter);
    }
    if (source.coldVerificationKey && (await deps.io.exists(source.coldVerificationKey))) {
      const vk = readColdVerificationKey(await readSource(deps.io, source.coldVerificationKey), source.coldVerificationKey);
      if (!equalBytes(vk, cert.coldVerificationKey)) {
        warnings.push(`${source.coldVerificationKey}: cold verification key is not the one that signed ${source.opcert}`);
      }
    }
    if (source.kesVerificationKey && (await deps.io.exists(source.kesVerificationKey))) {
      const vk = readKesVerificationKey(await readSource(deps.io, source.kesVerificationKey), source.kesVerificationKey);
      if (!equalBytes(vk, cert.kesVerificationKey)) {
        warnings.push(`${source.kesVerificationKey}: KES verification key is not the one certified by ${source.opcert}`);
      }
    }
  } else {
    const names = poolSecretNames(source.pool);
    label = `secrets of pool ${source.pool}`;
    const certSecret = await source.store.get(names.opcert);
    cert = readVerifiedOperationalCertificate(certSecret.value, names.opcert);
    const counterSecret = await source.store.get(names.opcertCounter);
    counter = readOpcertCounter(counterSecret.value, names.opcertCounter);
  }
  const counterLabel = source.kind === "files" ? source.opcertCounter : poolSecretNames(source.pool).opcertCounter;
  if (counter) {
    if (!equalBytes(counter.coldVerificationKey, cert.coldVerificationKey)) {
      warnings.push(`${counterLabel}: counter belongs to ${describeCold(counter.coldVerificationKey)}, not to the cert's pool`);
    } else if (counter.next <= cert.counter) {
      warnings.push(
        `${counterLabel}: counter ${counter.next} is not ahead of the cert (counter ${cert.counter}): it is stale`,
      );
    }
  }
  const v = opcertValidity(cert.kesPeriod, deps.now(), network);
  return {
    source: label,
    network,
    poolId: poolIdHex(cert.coldVerificationKey),
    poolIdBech32: poolIdBech32(cert.coldVerificationKey),
    coldVerificationKey: bytesToHex(cert.coldVerificationKey),
    kesVerificationKey: bytesToHex(cert.kesVerificationKey),
    counterNext: counter ? counter.next : null,
    opcert: {
      counter: cert.counter,
      startPeriod: cert.kesPeriod,
      expiryPeriod: v.expiryPeriod,
      expiresAt: v.expiresAt.toISOString(),
      currentPeriod: v.currentPeriod,
      periodsLeft: v.periodsLeft,
      daysLeft: Math.round(v.daysLeft * 10) / 10,
      status: v.status,
    },
    warnings,
  };
}

export function formatKeySummary(s: KeySummary): string {
  const lines = [
    `source            ${s.source}`,
    `network           ${s.network}`,
    `pool id           ${s.poolIdBech32}`,
    `pool id (hex)     ${s.poolId}`,
    `cold vkey         ${s.coldVerificationKey}`,
    `KES vkey          ${s.kesVerificationKey}`,
    `counter (next)    ${s.counterNext ?? "(no counter)"}`,
    `op cert counter   ${s.opcert.counter}`,
    `op cert start     KES period ${s.opcert.startPeriod} (current ${s.opcert.currentPeriod})`,
    `op cert expiry    ${s.opcert.expiresAt.replace(".000Z", "Z")} (KES period ${s.opcert.expiryPeriod})`,
    `days left         ${s.opcert.daysLeft} (${s.opcert.periodsLeft} KES periods, ${s.opcert.status})`,
  ];
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// commander wiring

export interface KeysCommandDeps {
  readonly io: KeysIo;
  readonly now: () => Date;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly secretStore: (target: { region: string; endpoint?: string | undefined }) => SecretStore;
}

const defaultDeps: KeysCommandDeps = {
  io: nodeKeysIo,
  now: () => new Date(),
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  secretStore: (target) => new SecretsManagerSecretStore(target),
};

function parseNetwork(value: string): CardanoNetwork {
  if (!isCardanoNetwork(value)) throw new InvalidArgumentError("expected one of mainnet, preprod, preview");
  return value;
}

function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError("expected a non-negative integer");
  }
  return Number(value);
}

function networkOption(required: boolean): Option {
  const option = new Option("--network <network>", "Cardano network: mainnet, preprod or preview").argParser(parseNetwork);
  return required ? option.makeOptionMandatory() : option;
}

function isExpected(err: unknown): err is Error {
  return err instanceof KeyMaterialError || err instanceof KeysCommandError || err instanceof SecretStoreError || err instanceof OpsError;
}

function resolveRegion(region: string | undefined): string {
  const r = region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!r) throw new KeysCommandError("no AWS region: pass --region or set AWS_REGION");
  return r;
}

/** `pool-ops keys …`; attach with `program.addCommand(keysCommand())`. */
export function keysCommand(overrides: Partial<KeysCommandDeps> = {}): Command {
  const deps: KeysCommandDeps = { ...defaultDeps, ...overrides };
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await fn(...args);
      } catch (err) {
        if (!isExpected(err)) throw err;
        deps.stderr(err instanceof OpsError ? `error: ${err.step}: ${err.message}\n  remedy: ${err.remedy}\n` : `error: ${err.message}\n`);
        process.exitCode = err instanceof LeaseHeldError ? EXIT_LEASE_HELD : 1;
      }
    };
  const print = (json: boolean | undefined, value: unknown, human: string) =>
    deps.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : human);

  const keys = new Command("keys").description("Pool key material: generate (test networks), issue op certs, import, show");

  keys
    .command("generate")
    .description("Generate a full key set for a test network (cold, VRF, KES keys, counter, op cert)")
    .addOption(networkOption(true))
    .requiredOption("--out <dir>", "directory to write the key set into (must not hold any of its files)")
    .option("--json", "machine-readable output")
    .action(
      run(async (opts: { network: CardanoNetwork; out: string; json?: boolean }) => {
        const result = await generateKeySet({ network: opts.network, outDir: opts.out }, deps);
        print(
          opts.json,
          result,
          `generated a ${result.network} key set in ${result.outDir}\n` +
            `pool id ${result.poolIdBech32}\nop cert counter 0 at KES period ${result.kesPeriod}\n` +
            result.files.map((f) => `  ${f}`).join("\n") +
            "\nsigning keys are mode 0600; import them with: pool-ops keys import --dir " +
            `${result.outDir} --pool NAME\n`,
        );
      }),
    );

  keys
    .command("issue-opcert")
    .description("Issue an operational certificate exactly as `cardano-cli node issue-op-cert` (advances the counter)")
    .requiredOption("--kes-vkey <file>", "KES verification key file")
    .requiredOption("--cold-skey <file>", "cold (stake pool) signing key file")
    .requiredOption("--counter-file <file>", "op cert issue counter file (advanced by one)")
    .requiredOption("--kes-period <n>", "KES period the certificate starts at", parseNonNegativeInt)
    .requiredOption("--out <file>", "op cert file to write")
    .addOption(networkOption(false))
    .option("--last-issued-counter <n>", "last counter seen on chain (the ledger accepts it or one more)", parseNonNegativeInt)
    .option("--json", "machine-readable output")
    .action(
      run(
        async (opts: {
          kesVkey: string;
          coldSkey: string;
          counterFile: string;
          kesPeriod: number;
          out: string;
          network?: CardanoNetwork;
          lastIssuedCounter?: number;
          json?: boolean;
        }) => {
          const result = await issueOpcertFiles(
            {
              kesVkeyFile: opts.kesVkey,
              coldSkeyFile: opts.coldSkey,
              counterFile: opts.counterFile,
              kesPeriod: opts.kesPeriod,
              outFile: opts.out,
              network: opts.network,
              lastIssuedCounter: opts.lastIssuedCounter,
            },
            deps,
          );
          print(
            opts.json,
            result,
            `wrote ${result.outFile}: counter ${result.counter}, KES period ${result.kesPeriod} (${result.poolId})\n` +
              `${result.counterFile}: next certificate issue number ${result.nextCounter}\n`,
          );
        },
      ),
    );

  keys
    .command("import")
    .description("Validate a key set and put it into the pool's cold and hot secrets in Secrets Manager")
    .option("--dir <dir>", "directory holding cold.skey, cold.counter, kes.skey, vrf.skey, node.cert")
    .option("--cold-skey <file>", "cold signing key (overrides --dir)")
    .option("--counter-file <file>", "op cert issue counter (overrides --dir)")
    .option("--kes-skey <file>", "KES signing key (overrides --dir)")
    .option("--vrf-skey <file>", "VRF signing key (overrides --dir)")
    .option("--opcert <file>", "operational certificate (overrides --dir)")
    .requiredOption("--pool <name>", "pool name (secret names are derived from it)")
    .option("--region <region>", "AWS region (default: AWS_REGION)")
    .option("--endpoint <url>", "AWS emulator endpoint on loopback (tests and the lab)")
    .addOption(networkOption(false))
    .option("--dry-run", "only validate and show what would be put")
    .option("--json", "machine-readable output")
    .addOption(leaseWaitOption())
    .action(
      run(
        async (opts: {
          dir?: string;
          coldSkey?: string;
          counterFile?: string;
          kesSkey?: string;
          vrfSkey?: string;
          opcert?: string;
          pool: string;
          region?: string;
          endpoint?: string;
          network?: CardanoNetwork;
          dryRun?: boolean;
          json?: boolean;
          wait?: number;
        }) => {
          const fromDir = opts.dir ? importFilesIn(opts.dir) : undefined;
          const pick = (flag: string | undefined, key: keyof ImportFiles, name: string): string => {
            const path = flag ?? fromDir?.[key];
            if (!path) throw new KeysCommandError(`no ${name}: pass --dir or --${name}`);
            return path;
          };
          const files: ImportFiles = {
            coldSigningKey: pick(opts.coldSkey, "coldSigningKey", "cold-skey"),
            opcertCounter: pick(opts.counterFile, "opcertCounter", "counter-file"),
            kesSigningKey: pick(opts.kesSkey, "kesSigningKey", "kes-skey"),
            vrfSigningKey: pick(opts.vrfSkey, "vrfSigningKey", "vrf-skey"),
            opcert: pick(opts.opcert, "opcert", "opcert"),
          };
          const dryRun = opts.dryRun === true;
          const region = dryRun ? undefined : resolveRegion(opts.region);
          const store = region === undefined ? new MemorySecretStore() : deps.secretStore({ region, endpoint: opts.endpoint });
          // The pool's lease (its table in the same region and endpoint as the secrets): no other operator changes the
          // pool while its keys are replaced. A dry run takes none.
          const lease = { target: { region: region ?? "", endpoint: opts.endpoint }, pool: opts.pool, command: "keys import", wait: opts.wait, dryRun, warn: (t: string) => deps.stderr(`${t}\n`) };
          const result = await importKeys({ files, pool: opts.pool, dryRun, network: opts.network }, { ...deps, store, holdLease: (puts) => withLease(lease, puts) });
          const human =
            `${dryRun ? "would put" : "put"} the key set of ${result.poolIdBech32} (op cert counter ` +
            `${result.opcertCounter}, KES period ${result.opcertKesPeriod}):\n` +
            result.entries
              .map((e) => `  ${e.tier.padEnd(4)} ${e.secretId.padEnd(40)} ← ${e.from}${e.versionId ? ` (version ${e.versionId})` : ""}`)
              .join("\n") +
            "\n" +
            result.warnings.map((w) => `warning: ${w}\n`).join("") +
            `${result.reminder}\n`;
          print(opts.json, result, human);
        },
      ),
    );

  keys
    .command("show")
    .description("Show pool id, keys, counter and op cert validity from files or from Secrets Manager (never a signing key)")
    .option("--dir <dir>", "read node.cert, cold.counter, cold.vkey, kes.vkey from this directory")
    .option("--pool <name>", "read the pool's op cert and counter secrets (when no --dir)")
    .option("--region <region>", "AWS region (default: AWS_REGION)")
    .option("--endpoint <url>", "AWS emulator endpoint on loopback (tests and the lab)")
    .addOption(networkOption(true))
    .option("--json", "machine-readable output")
    .action(
      run(
        async (opts: {
          dir?: string;
          pool?: string;
          region?: string;
          endpoint?: string;
          network: CardanoNetwork;
          json?: boolean;
        }) => {
          let source: ShowSource;
          if (opts.dir) source = showFilesIn(opts.dir);
          else if (opts.pool) {
            source = {
              kind: "secrets",
              pool: opts.pool,
              store: deps.secretStore({ region: resolveRegion(opts.region), endpoint: opts.endpoint }),
            };
          } else throw new KeysCommandError("nothing to show: pass --dir DIR or --pool NAME");
          const summary = await showKeys(source, opts.network, deps);
          print(opts.json, summary, formatKeySummary(summary));
        },
      ),
    );

  return keys;
}
