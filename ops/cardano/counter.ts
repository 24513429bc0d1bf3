/**
 * The operational certificate issue counter file (cardano-api `OperationalCertificateIssueCounter`):
 * CBOR `[uint next, bytes(32) cold_vk]`, description `Next certificate issue number: N`.
 * `next` is the counter the next certificate will carry.
 */
import { encodeCbor, decodeCbor, expectCborArray, expectCborBytes, expectCborUint } from "./cbor";
import { ENVELOPE_TYPES, readTextEnvelope, writeTextEnvelope } from "./envelope";
import { KeyMaterialError } from "./errors";
import { expectLength } from "./bytes";

export interface OpcertCounter {
  /** Issue number of the next certificate. */
  readonly next: number;
  /** Cold verification key the counter belongs to. */
  readonly coldVerificationKey: Uint8Array;
}

export function counterDescription(next: number): string {
  return `Next certificate issue number: ${next}`;
}

export function writeOpcertCounter(counter: OpcertCounter): string {
  if (!Number.isSafeInteger(counter.next) || counter.next < 0) {
    throw new RangeError(`counter must be a non-negative integer, got ${counter.next}`);
  }
  expectLength(counter.coldVerificationKey, 32, "counter", "cold verification key");
  return writeTextEnvelope(
    ENVELOPE_TYPES.opcertCounter,
    counterDescription(counter.next),
    encodeCbor([counter.next, counter.coldVerificationKey]),
  );
}

export function readOpcertCounter(text: string, source: string): OpcertCounter {
  const { cbor } = readTextEnvelope(text, source, ENVELOPE_TYPES.opcertCounter);
  const items = expectCborArray(decodeCbor(cbor, source, "counter"), source, "counter", 2);
  return {
    next: expectCborUint(items[0], source, "counter value"),
    coldVerificationKey: expectCborBytes(items[1]!, source, "counter's cold verification key", 32),
  };
}

/**
 * The ledger's counter rule (ouroboros-consensus Praos, Babbage/Conway): a certificate with counter n is
 * accepted only if m ≤ n ≤ m + 1, where m is the last counter seen on chain for the pool.
 * Throws a KeyMaterialError naming `source` when `next` breaks it.
 */
export function assertCounterAcceptable(next: number, lastOnChain: number, source: string): void {
  if (next < lastOnChain) {
    throw new KeyMaterialError(
      source,
      `counter ${next} is below the last issued counter ${lastOnChain}: the chain would reject the certificate ` +
        `(the counter file is stale; use a counter of ${lastOnChain} or ${lastOnChain + 1})`,
    );
  }
  if (next > lastOnChain + 1) {
    throw new KeyMaterialError(
      source,
      `counter ${next} is more than one above the last issued counter ${lastOnChain}: the chain would reject ` +
        `the certificate (use ${lastOnChain} or ${lastOnChain + 1})`,
    );
  }
}
