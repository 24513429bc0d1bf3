/**
 * Stake pool cold keys (cardano-api `StakePoolKey`): an Ed25519 key pair. The signing key file holds
 * the 32-byte RFC 8032 seed, the verification key file the 32-byte public key, each as a CBOR byte string.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { randomFillSync } from "node:crypto";
import { decodeCborBytes, encodeCborBytes } from "./cbor";
import { ENVELOPE_TYPES, readTextEnvelope, writeTextEnvelope } from "./envelope";
import { expectLength } from "./bytes";

export const COLD_SIGNING_KEY_BYTES = 32;
export const COLD_VERIFICATION_KEY_BYTES = 32;
/** Descriptions cardano-cli `node key-gen` writes. */
export const COLD_SIGNING_KEY_DESCRIPTION = "Stake Pool Operator Signing Key";
export const COLD_VERIFICATION_KEY_DESCRIPTION = "Stake Pool Operator Verification Key";

export interface ColdKeyPair {
  /** 32-byte Ed25519 seed. Wipe after use. */
  readonly signingKey: Uint8Array;
  readonly verificationKey: Uint8Array;
}

/**
 * New cold key pair from the OS CSPRNG (or from a given 32-byte seed, which is copied). The CSPRNG fills the returned
 * array itself: no second buffer (randomBytes' own, copied from) is left holding the seed.
 */
export function generateColdKey(seed?: Uint8Array): ColdKeyPair {
  const signingKey = seed ? expectLength(seed, 32, "seed", "cold key seed").slice() : randomFillSync(new Uint8Array(32));
  return { signingKey, verificationKey: coldVerificationKey(signingKey) };
}

/** Public key of a cold signing key (32-byte seed). */
export function coldVerificationKey(signingKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(expectLength(signingKey, 32, "cold signing key", "cold signing key"));
}

export function writeColdSigningKey(signingKey: Uint8Array): string {
  return writeTextEnvelope(ENVELOPE_TYPES.coldSigningKey, COLD_SIGNING_KEY_DESCRIPTION, encodeCborBytes(signingKey));
}

export function readColdSigningKey(text: string, source: string): Uint8Array {
  const { cbor } = readTextEnvelope(text, source, ENVELOPE_TYPES.coldSigningKey);
  try {
    return decodeCborBytes(cbor, source, "cold signing key", COLD_SIGNING_KEY_BYTES);
  } finally {
    cbor.fill(0);
  }
}

export function writeColdVerificationKey(verificationKey: Uint8Array): string {
  return writeTextEnvelope(
    ENVELOPE_TYPES.coldVerificationKey,
    COLD_VERIFICATION_KEY_DESCRIPTION,
    encodeCborBytes(verificationKey),
  );
}

export function readColdVerificationKey(text: string, source: string): Uint8Array {
  const { cbor } = readTextEnvelope(text, source, ENVELOPE_TYPES.coldVerificationKey);
  return decodeCborBytes(cbor, source, "cold verification key", COLD_VERIFICATION_KEY_BYTES);
}
