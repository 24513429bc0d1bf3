/**
 * The signer child's handling of the cold key, from the secret's text to a signature, in buffers it owns and wipes.
 *
 * Every buffer that holds the seed is a view of an ArrayBuffer of its own (`secretBuffer`): its bytes live in a backing
 * store outside V8's heap, which the garbage collector never moves, so the one wipe covers the only copy. Neither
 * Node's pool (Buffer.from, allocUnsafe: shared with other buffers) nor Buffer.allocUnsafeSlow would do: a typed array
 * of up to 64 bytes made by length keeps its bytes inside the heap (V8's typed_array_max_size_in_heap), where the
 * scavenger copies them and leaves the old copy behind, unwiped. The
 * Ed25519 work is OpenSSL's (node:crypto), not @noble/curves': noble keeps the SHA-512 expansion of the seed in
 * arrays and bigints it never clears, while OpenSSL derives it on its own stack and cleanses it (crypto/ec/curve25519.c,
 * ossl_ed25519_sign: OPENSSL_cleanse(az)). What no code here can wipe: the secret's text as the SDK returns it and the
 * envelope's cborHex, both JavaScript strings, and OpenSSL's copy of the key inside the KeyObject until it is freed.
 * They end with the child, which exits as soon as its reply is written.
 */
import { createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";
import { ENVELOPE_TYPES, KeyMaterialError, parseTextEnvelope } from "../cardano";

/** A cold signing key's CBOR: a byte string of 32 bytes (major type 2, one length byte: 0x58 0x20). */
const CBOR_HEAD = [0x58, 0x20] as const;
const SEED_BYTES = 32;

/** Zeroed bytes outside V8's heap (an ArrayBuffer's backing store): never moved, so never left behind by a move. */
function secretBuffer(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

/**
 * RFC 8410 §7 OneAsymmetricKey for Ed25519 with the seed as its CurvePrivateKey: `30 2e 02 01 00 30 05 06 03 2b 65
 * 70 04 22 04 20 ‖ seed`.
 */
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/**
 * The 32-byte seed of a cold signing key's text envelope (cardano-cli `StakePoolSigningKey_ed25519`), in a buffer of
 * its own: the caller wipes it. The decoded CBOR is wiped here, also when it is refused.
 */
export function coldSeedFromEnvelope(text: string, source: string): Buffer {
  const { cborHex } = parseTextEnvelope(text, source, ENVELOPE_TYPES.coldSigningKey);
  if (cborHex.length !== (CBOR_HEAD.length + SEED_BYTES) * 2 || !/^[0-9a-fA-F]*$/.test(cborHex)) {
    throw new KeyMaterialError(source, `cold signing key must be a CBOR byte string of ${SEED_BYTES} bytes (cborHex of ${(CBOR_HEAD.length + SEED_BYTES) * 2} hex digits)`);
  }
  const cbor = secretBuffer(CBOR_HEAD.length + SEED_BYTES);
  try {
    cbor.write(cborHex, "hex");
    if (cbor[0] !== CBOR_HEAD[0] || cbor[1] !== CBOR_HEAD[1]) {
      throw new KeyMaterialError(source, `cold signing key must be a CBOR byte string of ${SEED_BYTES} bytes`);
    }
    const seed = secretBuffer(SEED_BYTES);
    cbor.copy(seed, 0, CBOR_HEAD.length);
    return seed;
  } finally {
    cbor.fill(0);
  }
}

/** An OpenSSL Ed25519 private key of the seed; the DER it is read from is wiped (the seed stays the caller's). */
export function ed25519PrivateKey(seed: Buffer): KeyObject {
  const der = secretBuffer(PKCS8_PREFIX.length + SEED_BYTES);
  try {
    der.set(PKCS8_PREFIX, 0);
    seed.copy(der, PKCS8_PREFIX.length);
    return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } finally {
    der.fill(0);
  }
}

/** The 32-byte public key of an Ed25519 key (the last 32 bytes of its SubjectPublicKeyInfo). */
export function ed25519PublicKey(key: KeyObject): Buffer {
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - 32);
}

/** RFC 8032 Ed25519 signature (deterministic: the bytes cardano-cli's would be). */
export function ed25519Sign(key: KeyObject, message: Uint8Array): Buffer {
  return sign(null, message, key);
}
