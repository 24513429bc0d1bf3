/**
 * `pool-ops keys issue-opcert`: `cardano-cli node issue-op-cert` from files. The cold key is the operator's file, read
 * by this process (not the signer child, which reads only the pool's secret): the command is for the offline machine
 * that holds the key file anyway.
 */
import type { CardanoNetwork } from "../../../config/networks";
import {
  assertCounterAcceptable,
  assertIssuableKesPeriod,
  coldVerificationKey,
  equalBytes,
  issueOperationalCertificate,
  KeyMaterialError,
  poolIdBech32,
  readColdSigningKey,
  readKesVerificationKey,
  readOperationalCertificate,
  readOpcertCounter,
  wipe,
  writeOperationalCertificate,
  writeOpcertCounter,
  type OperationalCertificate,
  type OpcertCounter,
} from "../../cardano";
import { describeCold, KeysCommandError } from "./errors";
import { PUBLIC_FILE_MODE, readSource, type KeysIo } from "./key-files";

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
