/**
 * Operational certificates (cardano-ledger `Cardano.Protocol.TPraos.OCert`, cardano-api
 * `OperationalCertificate`). File CBOR: `[[kes_vk, counter, kes_period, sigma], cold_vk]` with
 * minimal-length unsigned integers. sigma = Ed25519 (RFC 8032) by the cold key over the signable
 * `kes_vk (32) ‖ counter (uint64 BE) ‖ kes_period (uint64 BE)` (`OCertSignable`).
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { concatBytes, equalBytes, expectLength, u64be } from "./bytes";
import { decodeCbor, encodeCbor, expectCborArray, expectCborBytes, expectCborUint } from "./cbor";
import { coldVerificationKey } from "./cold-key";
import { ENVELOPE_TYPES, readTextEnvelope, writeTextEnvelope } from "./envelope";
import { KeyMaterialError } from "./errors";

export interface OperationalCertificate {
  /** Hot KES verification key (32 bytes). */
  readonly kesVerificationKey: Uint8Array;
  /** Issue counter. */
  readonly counter: number;
  /** Absolute KES period from which the certificate is valid. */
  readonly kesPeriod: number;
  /** Ed25519 signature of the cold key over `opcertSignable(…)` (64 bytes). */
  readonly signature: Uint8Array;
  /** Cold verification key (32 bytes). */
  readonly coldVerificationKey: Uint8Array;
}

/** cardano-cli writes an empty description. */
export const OPCERT_DESCRIPTION = "";

/** The bytes the cold key signs. */
export function opcertSignable(kesVerificationKey: Uint8Array, counter: number, kesPeriod: number): Uint8Array {
  expectLength(kesVerificationKey, 32, "op cert", "KES verification key");
  return concatBytes(kesVerificationKey, u64be(counter), u64be(kesPeriod));
}

export interface IssueOpcertInput {
  readonly kesVerificationKey: Uint8Array;
  /** 32-byte cold signing key seed; not modified (the caller wipes it). */
  readonly coldSigningKey: Uint8Array;
  readonly counter: number;
  readonly kesPeriod: number;
}

/** Issue (sign) an operational certificate. Deterministic: same inputs give the same bytes as cardano-cli. */
export function issueOperationalCertificate(input: IssueOpcertInput): OperationalCertificate {
  const { kesVerificationKey, coldSigningKey, counter, kesPeriod } = input;
  const signable = opcertSignable(kesVerificationKey, counter, kesPeriod);
  expectLength(coldSigningKey, 32, "cold signing key", "cold signing key");
  return {
    kesVerificationKey: kesVerificationKey.slice(),
    counter,
    kesPeriod,
    signature: ed25519.sign(signable, coldSigningKey),
    coldVerificationKey: coldVerificationKey(coldSigningKey),
  };
}

/**
 * Verify a certificate's signature. With `expectedColdVerificationKey`, also require that the cert names
 * that cold key (a cert signed by another pool's key is rejected even if self-consistent).
 */
export function verifyOperationalCertificate(
  cert: OperationalCertificate,
  expectedColdVerificationKey?: Uint8Array,
): boolean {
  if (expectedColdVerificationKey && !equalBytes(expectedColdVerificationKey, cert.coldVerificationKey)) return false;
  if (cert.kesVerificationKey.length !== 32 || cert.coldVerificationKey.length !== 32) return false;
  if (cert.signature.length !== 64) return false;
  try {
    return ed25519.verify(
      cert.signature,
      opcertSignable(cert.kesVerificationKey, cert.counter, cert.kesPeriod),
      cert.coldVerificationKey,
      { zip215: false },
    );
  } catch {
    return false;
  }
}

/** CBOR of a certificate as it appears in the file's cborHex. */
export function encodeOperationalCertificate(cert: OperationalCertificate): Uint8Array {
  return encodeCbor([
    [cert.kesVerificationKey, cert.counter, cert.kesPeriod, cert.signature],
    cert.coldVerificationKey,
  ]);
}

/** Decode the CBOR of a certificate; structural errors name `source`. Does not verify the signature. */
export function decodeOperationalCertificate(cbor: Uint8Array, source: string): OperationalCertificate {
  const outer = expectCborArray(decodeCbor(cbor, source, "op cert"), source, "op cert", 2);
  const body = expectCborArray(outer[0], source, "op cert body", 4);
  return {
    kesVerificationKey: expectCborBytes(body[0]!, source, "op cert KES verification key", 32),
    counter: expectCborUint(body[1], source, "op cert counter"),
    kesPeriod: expectCborUint(body[2], source, "op cert KES period"),
    signature: expectCborBytes(body[3]!, source, "op cert signature", 64),
    coldVerificationKey: expectCborBytes(outer[1]!, source, "op cert cold verification key", 32),
  };
}

export function writeOperationalCertificate(cert: OperationalCertificate): string {
  return writeTextEnvelope(ENVELOPE_TYPES.opcert, OPCERT_DESCRIPTION, encodeOperationalCertificate(cert));
}

/** Read a certificate file; decodes it but does not verify it (see `readVerifiedOperationalCertificate`). */
export function readOperationalCertificate(text: string, source: string): OperationalCertificate {
  const { cbor } = readTextEnvelope(text, source, ENVELOPE_TYPES.opcert);
  return decodeOperationalCertificate(cbor, source);
}

/** Read a certificate and require its signature to verify (against `coldVerificationKey` if given). */
export function readVerifiedOperationalCertificate(
  text: string,
  source: string,
  expectedColdVerificationKey?: Uint8Array,
): OperationalCertificate {
  const cert = readOperationalCertificate(text, source);
  if (expectedColdVerificationKey && !equalBytes(expectedColdVerificationKey, cert.coldVerificationKey)) {
    throw new KeyMaterialError(source, "op cert was issued for a different cold key");
  }
  if (!verifyOperationalCertificate(cert)) {
    throw new KeyMaterialError(source, "op cert signature does not verify against its cold verification key");
  }
  return cert;
}
