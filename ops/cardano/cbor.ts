/** Small CBOR helpers over cborg, with errors that name the source. */
import { decode, encode } from "cborg";
import { KeyMaterialError } from "./errors";

/** A CBOR value as cborg decodes the shapes used by key files. */
export type CborValue = number | bigint | Uint8Array | CborValue[] | string | boolean | null;

/** Encode a value (byte strings, unsigned integers, arrays) with minimal-length heads. */
export function encodeCbor(value: CborValue): Uint8Array {
  return encode(value);
}

/** Decode one complete CBOR item; trailing bytes or malformed input are a KeyMaterialError. */
export function decodeCbor(bytes: Uint8Array, source: string, what: string): CborValue {
  try {
    return decode(bytes, { strict: true }) as CborValue;
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^CBOR decode error: /, "") : String(err);
    throw new KeyMaterialError(source, `${what} is not valid CBOR (${reason})`);
  }
}

/** CBOR byte string of `bytes`. */
export function encodeCborBytes(bytes: Uint8Array): Uint8Array {
  return encode(bytes);
}

/**
 * Decode a CBOR byte string of exactly `length` bytes; returns a fresh copy. cborg decodes into a buffer of its own,
 * which is zeroed here once copied: for a signing key, the copy returned (and `cbor`, the caller's) are the only ones
 * left to wipe.
 */
export function decodeCborBytes(cbor: Uint8Array, source: string, what: string, length: number): Uint8Array {
  const value = decodeCbor(cbor, source, what);
  try {
    return expectCborBytes(value, source, what, length);
  } finally {
    if (value instanceof Uint8Array && value.buffer !== cbor.buffer) value.fill(0);
  }
}

/** Require a decoded value to be a byte string of `length` bytes; returns a fresh copy. */
export function expectCborBytes(value: CborValue, source: string, what: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new KeyMaterialError(source, `${what} must be a CBOR byte string`);
  }
  if (value.length !== length) {
    throw new KeyMaterialError(source, `${what} must be ${length} bytes, got ${value.length}`);
  }
  return value.slice();
}

/** Require a decoded value to be an unsigned integer that fits a JavaScript number. */
export function expectCborUint(value: CborValue | undefined, source: string, what: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === "bigint") throw new KeyMaterialError(source, `${what} is out of range (${value})`);
  throw new KeyMaterialError(source, `${what} must be an unsigned integer`);
}

/** Require a decoded value to be an array of `length` items. */
export function expectCborArray(value: CborValue | undefined, source: string, what: string, length: number): CborValue[] {
  if (!Array.isArray(value) || value.length !== length) {
    throw new KeyMaterialError(source, `${what} must be a CBOR array of ${length} items`);
  }
  return value;
}
