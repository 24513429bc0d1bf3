/** `pool-ops keys show`: pool id, keys, counter and op cert validity, from files or the pool's secrets. */
import { join } from "node:path";
import type { CardanoNetwork } from "../../../config/networks";
import { poolSecretNames } from "../../../config/names";
import type { SecretStore } from "../../aws/secret-store";
import {
  bytesToHex,
  equalBytes,
  opcertValidity,
  poolIdBech32,
  poolIdHex,
  readColdVerificationKey,
  readKesVerificationKey,
  readOpcertCounter,
  readVerifiedOperationalCertificate,
  type OperationalCertificate,
  type OpcertCounter,
} from "../../cardano";
import { describeCold } from "./errors";
import { KEY_FILE_NAMES, readSource, type KeysIo } from "./key-files";

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
