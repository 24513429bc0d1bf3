/**
 * Sum6KES over Ed25519 with Blake2b-256, exactly as cardano-base `Cardano.Crypto.KES.Sum` (the plain
 * sum construction, not the compact one) instantiated as `Sum6KES Ed25519DSIGN Blake2b_256`.
 *
 * Depth d key (Sum_d), T = 2^d periods:
 *   genKey(0, s)  = Ed25519 seed s, vk = Ed25519 public key of s
 *   genKey(d, s)  : r0 = Blake2b-256(0x01 ‖ s), r1 = Blake2b-256(0x02 ‖ s)   (`expandHashWith`)
 *                   sk = sk_{d-1}(r0) ‖ r1 ‖ vk0 ‖ vk1,  vk = Blake2b-256(vk0 ‖ vk1)
 *   sign(d, t)    = sign_{d-1}(t mod T/2 with the current subtree) ‖ vk0 ‖ vk1
 *   update(d, t)  : t+1 < T/2 → update the left subtree; t+1 = T/2 → subtree := genKey(d-1, r1),
 *                   r1 := 32 zero bytes; t+1 > T/2 → update the right subtree; t+1 = T → no key.
 * Raw sizes at depth 6: signing key 32 + 6×96 = 608 bytes, signature 64 + 6×64 = 448 bytes, vk 32 bytes.
 * A raw key holds no period: the node evolves it in memory from the certificate's start period, and
 * key files on disk are always the period-0 key.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { randomFillSync } from "node:crypto";
import { concatBytes, equalBytes, expectLength, wipe } from "./bytes";
import { decodeCborBytes, encodeCborBytes } from "./cbor";
import { ENVELOPE_TYPES, readTextEnvelope, writeTextEnvelope } from "./envelope";
import { KeyMaterialError } from "./errors";

export const KES_DEPTH = 6;
/** Number of periods a Sum6KES key covers (2^6). */
export const KES_TOTAL_PERIODS = 64;
export const KES_SEED_BYTES = 32;
export const KES_SIGNING_KEY_BYTES = 608;
export const KES_VERIFICATION_KEY_BYTES = 32;
export const KES_SIGNATURE_BYTES = 448;
export const KES_SIGNING_KEY_DESCRIPTION = "KES Signing Key";
export const KES_VERIFICATION_KEY_DESCRIPTION = "KES Verification Key";

const skBytes = (depth: number): number => 32 + 96 * depth;
const sigBytes = (depth: number): number => 64 + 64 * depth;
const blake2b256 = (data: Uint8Array): Uint8Array => blake2b(data, { dkLen: 32 });

export interface KesKeyPair {
  /** 608-byte period-0 signing key. Wipe after use. */
  readonly signingKey: Uint8Array;
  readonly verificationKey: Uint8Array;
}

function expandSeed(seed: Uint8Array): [Uint8Array, Uint8Array] {
  const one = concatBytes(Uint8Array.of(1), seed);
  const two = concatBytes(Uint8Array.of(2), seed);
  const r0 = blake2b256(one);
  const r1 = blake2b256(two);
  wipe(one, two);
  return [r0, r1];
}

function genKey(depth: number, seed: Uint8Array): { sk: Uint8Array; vk: Uint8Array } {
  if (depth === 0) return { sk: seed.slice(), vk: ed25519.getPublicKey(seed) };
  const [r0, r1] = expandSeed(seed);
  const left = genKey(depth - 1, r0);
  const right = genKey(depth - 1, r1);
  const sk = concatBytes(left.sk, r1, left.vk, right.vk);
  const vk = blake2b256(concatBytes(left.vk, right.vk));
  wipe(r0, r1, left.sk, right.sk);
  return { sk, vk };
}

/**
 * Generate a Sum6KES key pair from a 32-byte seed (deterministic; the seed is not modified),
 * or from 32 bytes of the OS CSPRNG when no seed is given.
 */
export function generateKesKey(seed?: Uint8Array): KesKeyPair {
  const s = seed ? expectLength(seed, KES_SEED_BYTES, "seed", "KES seed").slice() : randomFillSync(new Uint8Array(32));
  const { sk, vk } = genKey(KES_DEPTH, s);
  wipe(s);
  return { signingKey: sk, verificationKey: vk };
}

/**
 * Verification key of a 608-byte signing key (at any evolution): Blake2b-256 of its last 64 bytes,
 * the outermost vk0 ‖ vk1.
 */
export function kesVerificationKey(signingKey: Uint8Array, source = "KES signing key"): Uint8Array {
  expectLength(signingKey, KES_SIGNING_KEY_BYTES, source, "KES signing key");
  return blake2b256(signingKey.subarray(KES_SIGNING_KEY_BYTES - 64));
}

function checkPeriod(period: number, what: string): void {
  if (!Number.isInteger(period) || period < 0 || period >= KES_TOTAL_PERIODS) {
    throw new RangeError(`${what} must be an integer in [0, ${KES_TOTAL_PERIODS}), got ${period}`);
  }
}

function update(depth: number, sk: Uint8Array, t: number): Uint8Array | null {
  const total = 2 ** depth;
  if (t + 1 >= total) return null;
  const half = total / 2;
  const innerLen = skBytes(depth - 1);
  const inner = sk.subarray(0, innerLen);
  const r1 = sk.subarray(innerLen, innerLen + 32);
  const vks = sk.subarray(innerLen + 32);
  if (t + 1 < half) {
    const next = update(depth - 1, inner, t)!;
    const out = concatBytes(next, r1, vks);
    wipe(next);
    return out;
  }
  if (t + 1 === half) {
    const right = genKey(depth - 1, r1);
    const out = concatBytes(right.sk, new Uint8Array(32), vks);
    wipe(right.sk);
    return out;
  }
  const next = update(depth - 1, inner, t - half)!;
  const out = concatBytes(next, r1, vks);
  wipe(next);
  return out;
}

/**
 * Evolve a signing key that is at `period` to `period + 1` (cardano-base `updateKES`). Returns a new
 * array (the input is left as is; wipe it if no longer needed), or null when `period` is the last one.
 */
export function updateKesKey(signingKey: Uint8Array, period: number): Uint8Array | null {
  expectLength(signingKey, KES_SIGNING_KEY_BYTES, "KES signing key", "KES signing key");
  checkPeriod(period, "KES period");
  return update(KES_DEPTH, signingKey, period);
}

/** Evolve a key from `fromPeriod` to `toPeriod` (≥ fromPeriod). Returns a new array. */
export function evolveKesKey(signingKey: Uint8Array, fromPeriod: number, toPeriod: number): Uint8Array {
  checkPeriod(fromPeriod, "key period");
  checkPeriod(toPeriod, "target period");
  if (toPeriod < fromPeriod) throw new RangeError(`cannot evolve a KES key backwards (${fromPeriod} → ${toPeriod})`);
  let key: Uint8Array = expectLength(signingKey, KES_SIGNING_KEY_BYTES, "KES signing key", "KES signing key").slice();
  for (let t = fromPeriod; t < toPeriod; t++) {
    const next = updateKesKey(key, t)!;
    wipe(key);
    key = next;
  }
  return key;
}

function sign(depth: number, sk: Uint8Array, t: number, message: Uint8Array): Uint8Array {
  if (depth === 0) return ed25519.sign(message, sk);
  const half = 2 ** (depth - 1);
  const innerLen = skBytes(depth - 1);
  const sigma = sign(depth - 1, sk.subarray(0, innerLen), t < half ? t : t - half, message);
  return concatBytes(sigma, sk.subarray(innerLen + 32));
}

/**
 * Sign `message` at relative KES period `period` (0 ≤ period < 64, counted from the certificate's
 * start period). `signingKey` is the key as stored at `keyPeriod` (a key file: 0); a copy is evolved
 * to `period` in memory and wiped, as the node does. Returns a 448-byte signature.
 */
export function kesSign(signingKey: Uint8Array, period: number, message: Uint8Array, keyPeriod = 0): Uint8Array {
  const evolved = evolveKesKey(signingKey, keyPeriod, period);
  try {
    return sign(KES_DEPTH, evolved, period, message);
  } finally {
    wipe(evolved);
  }
}

function verify(depth: number, vk: Uint8Array, t: number, message: Uint8Array, sig: Uint8Array): boolean {
  if (depth === 0) {
    try {
      // libsodium (used by cardano-base) verifies strictly: no ZIP-215 leniency.
      return ed25519.verify(sig, message, vk, { zip215: false });
    } catch {
      return false;
    }
  }
  const half = 2 ** (depth - 1);
  const innerLen = sigBytes(depth - 1);
  const sigma = sig.subarray(0, innerLen);
  const vk0 = sig.subarray(innerLen, innerLen + 32);
  const vk1 = sig.subarray(innerLen + 32, innerLen + 64);
  if (!equalBytes(blake2b256(sig.subarray(innerLen, innerLen + 64)), vk)) return false;
  return t < half ? verify(depth - 1, vk0, t, message, sigma) : verify(depth - 1, vk1, t - half, message, sigma);
}

/** Verify a 448-byte Sum6KES signature at relative period `period`. Wrong lengths or periods give false. */
export function kesVerify(
  verificationKey: Uint8Array,
  period: number,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (verificationKey.length !== KES_VERIFICATION_KEY_BYTES || signature.length !== KES_SIGNATURE_BYTES) return false;
  if (!Number.isInteger(period) || period < 0 || period >= KES_TOTAL_PERIODS) return false;
  return verify(KES_DEPTH, verificationKey, period, message, signature);
}

export function writeKesSigningKey(signingKey: Uint8Array): string {
  expectLength(signingKey, KES_SIGNING_KEY_BYTES, "KES signing key", "KES signing key");
  return writeTextEnvelope(ENVELOPE_TYPES.kesSigningKey, KES_SIGNING_KEY_DESCRIPTION, encodeCborBytes(signingKey));
}

/** Read a 608-byte KES signing key (a truncated or padded key is an error naming `source`). */
export function readKesSigningKey(text: string, source: string): Uint8Array {
  const { cbor } = readTextEnvelope(text, source, ENVELOPE_TYPES.kesSigningKey);
  try {
    return decodeCborBytes(cbor, source, "KES signing key", KES_SIGNING_KEY_BYTES);
  } finally {
    cbor.fill(0);
  }
}

export function writeKesVerificationKey(verificationKey: Uint8Array): string {
  expectLength(verificationKey, KES_VERIFICATION_KEY_BYTES, "KES verification key", "KES verification key");
  return writeTextEnvelope(
    ENVELOPE_TYPES.kesVerificationKey,
    KES_VERIFICATION_KEY_DESCRIPTION,
    encodeCborBytes(verificationKey),
  );
}

export function readKesVerificationKey(text: string, source: string): Uint8Array {
  const { cbor } = readTextEnvelope(text, source, ENVELOPE_TYPES.kesVerificationKey);
  return decodeCborBytes(cbor, source, "KES verification key", KES_VERIFICATION_KEY_BYTES);
}

/** Check that a KES signing key matches an expected verification key (e.g. the one in an op cert). */
export function assertKesKeyMatches(signingKey: Uint8Array, expected: Uint8Array, source: string, what: string): void {
  if (!equalBytes(kesVerificationKey(signingKey, source), expected)) {
    throw new KeyMaterialError(source, `KES signing key does not match ${what}`);
  }
}
