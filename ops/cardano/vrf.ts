/**
 * Praos VRF keys (cardano-base `Cardano.Crypto.VRF.Praos`, libsodium's ietfdraft03 VRF): the signing
 * key is the 32-byte seed followed by the 32-byte public key (64 bytes); the public key is the Ed25519
 * public key of the seed (`crypto_vrf_ietfdraft03_keypair_from_seed`).
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { randomFillSync } from "node:crypto";
import { decodeCborBytes, encodeCborBytes } from "./cbor";
import { ENVELOPE_TYPES, readTextEnvelope, writeTextEnvelope } from "./envelope";
import { concatBytes, equalBytes, expectLength, wipe } from "./bytes";
import { KeyMaterialError } from "./errors";

export const VRF_SIGNING_KEY_BYTES = 64;
export const VRF_VERIFICATION_KEY_BYTES = 32;
export const VRF_SIGNING_KEY_DESCRIPTION = "VRF Signing Key";
export const VRF_VERIFICATION_KEY_DESCRIPTION = "VRF Verification Key";

export interface VrfKeyPair {
  /** seed ‖ public key, 64 bytes. Wipe after use. */
  readonly signingKey: Uint8Array;
  readonly verificationKey: Uint8Array;
}

/** New VRF key pair from the OS CSPRNG (or a given 32-byte seed, which is not modified). */
export function generateVrfKey(seed?: Uint8Array): VrfKeyPair {
  const s = seed ? expectLength(seed, 32, "seed", "VRF seed").slice() : randomFillSync(new Uint8Array(32));
  const verificationKey = ed25519.getPublicKey(s);
  const signingKey = concatBytes(s, verificationKey);
  wipe(s);
  return { signingKey, verificationKey };
}

/** The public key half of a 64-byte VRF signing key, checked against its seed half. */
export function vrfVerificationKey(signingKey: Uint8Array, source = "VRF signing key"): Uint8Array {
  expectLength(signingKey, VRF_SIGNING_KEY_BYTES, source, "VRF signing key");
  const seed = signingKey.slice(0, 32);
  const derived = ed25519.getPublicKey(seed);
  wipe(seed);
  if (!equalBytes(derived, signingKey.subarray(32))) {
    throw new KeyMaterialError(source, "VRF signing key is inconsistent: its public half does not match its seed");
  }
  return derived;
}

export function writeVrfSigningKey(signingKey: Uint8Array): string {
  return writeTextEnvelope(ENVELOPE_TYPES.vrfSigningKey, VRF_SIGNING_KEY_DESCRIPTION, encodeCborBytes(signingKey));
}

/** Read a VRF signing key; checks the 64-byte layout (seed ‖ matching public key). */
export function readVrfSigningKey(text: string, source: string): Uint8Array {
  const { cbor } = readTextEnvelope(text, source, ENVELOPE_TYPES.vrfSigningKey);
  let signingKey: Uint8Array;
  try {
    signingKey = decodeCborBytes(cbor, source, "VRF signing key", VRF_SIGNING_KEY_BYTES);
  } finally {
    cbor.fill(0);
  }
  try {
    vrfVerificationKey(signingKey, source);
  } catch (err) {
    signingKey.fill(0);
    throw err;
  }
  return signingKey;
}

export function writeVrfVerificationKey(verificationKey: Uint8Array): string {
  return writeTextEnvelope(
    ENVELOPE_TYPES.vrfVerificationKey,
    VRF_VERIFICATION_KEY_DESCRIPTION,
    encodeCborBytes(verificationKey),
  );
}

export function readVrfVerificationKey(text: string, source: string): Uint8Array {
  const { cbor } = readTextEnvelope(text, source, ENVELOPE_TYPES.vrfVerificationKey);
  return decodeCborBytes(cbor, source, "VRF verification key", VRF_VERIFICATION_KEY_BYTES);
}
