import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js";
import { KeyMaterialError } from "./errors";

export { bytesToHex, concatBytes };

/**
 * Overwrite key bytes with zeros. JavaScript gives no guarantee that no other copy exists
 * (strings, GC moves), but it keeps the arrays we own from lingering with secrets in them.
 */
export function wipe(...arrays: (Uint8Array | undefined)[]): void {
  for (const a of arrays) a?.fill(0);
}

/** Constant-time-ish byte equality (no early exit). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Parse hex, naming the source on failure. */
export function hexToBytesFrom(hex: string, source: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new KeyMaterialError(source, "expected an even-length hexadecimal string");
  }
  return hexToBytes(hex);
}

/** Unsigned 64-bit big-endian encoding of a non-negative safe integer. */
export function u64be(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`expected a non-negative integer, got ${value}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

/** Require an exact length, naming the source and the thing in the error. */
export function expectLength(bytes: Uint8Array, length: number, source: string, what: string): Uint8Array {
  if (bytes.length !== length) {
    throw new KeyMaterialError(source, `${what} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}
