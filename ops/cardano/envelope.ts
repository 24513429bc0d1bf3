/**
 * cardano-cli text envelopes (cardano-api `Cardano.Api.SerialiseTextEnvelope`): a JSON object with
 * the keys `type`, `description`, `cborHex` in that order, pretty-printed with 4-space indentation
 * (aeson-pretty) and a trailing newline. Readers check only `type`.
 */
import { KeyMaterialError } from "./errors";
import { hexToBytesFrom } from "./bytes";
import { bytesToHex } from "@noble/hashes/utils.js";

export interface TextEnvelope {
  readonly type: string;
  readonly description: string;
  readonly cborHex: string;
}

/** Envelope types this library reads and writes (cardano-api `HasTextEnvelope` instances). */
export const ENVELOPE_TYPES = {
  coldSigningKey: "StakePoolSigningKey_ed25519",
  coldVerificationKey: "StakePoolVerificationKey_ed25519",
  vrfSigningKey: "VrfSigningKey_PraosVRF",
  vrfVerificationKey: "VrfVerificationKey_PraosVRF",
  kesSigningKey: "KesSigningKey_ed25519_kes_2^6",
  kesVerificationKey: "KesVerificationKey_ed25519_kes_2^6",
  opcertCounter: "NodeOperationalCertificateIssueCounter",
  opcert: "NodeOperationalCertificate",
} as const;

/** Serialise exactly as cardano-cli writes a file. */
export function writeTextEnvelope(type: string, description: string, cbor: Uint8Array): string {
  const envelope: TextEnvelope = { type, description, cborHex: bytesToHex(cbor) };
  return formatTextEnvelope(envelope);
}

/** Format an envelope object (keys re-ordered to type, description, cborHex). */
export function formatTextEnvelope(envelope: TextEnvelope): string {
  const ordered = { type: envelope.type, description: envelope.description, cborHex: envelope.cborHex };
  return `${JSON.stringify(ordered, null, 4)}\n`;
}

/**
 * Parse a text envelope from `text`, requiring `expectedType`. `source` names the file or secret in every error.
 * Returns the envelope's fields, `cborHex` still text (for a reader that decodes it into memory it wipes).
 */
export function parseTextEnvelope(text: string, source: string, expectedType: string): TextEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Never JSON.parse's own message: it quotes the text, which may be a secret.
    throw new KeyMaterialError(source, `expected a text envelope of type ${expectedType}, got text that is not JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new KeyMaterialError(source, `expected a text envelope of type ${expectedType}, got JSON that is not an object`);
  }
  const record = parsed as Record<string, unknown>;
  const { type, description, cborHex } = record;
  if (typeof type !== "string" || typeof cborHex !== "string") {
    throw new KeyMaterialError(
      source,
      `expected a text envelope of type ${expectedType} with string fields "type" and "cborHex"`,
    );
  }
  if (type !== expectedType) {
    throw new KeyMaterialError(source, `expected a text envelope of type ${expectedType}, got ${type}`);
  }
  return { type, description: typeof description === "string" ? description : "", cborHex };
}

/**
 * Parse a text envelope from `text`, requiring `expectedType`. `source` names the file or secret in
 * every error. Returns the envelope and its decoded CBOR bytes (a signing key's: wipe them after use).
 */
export function readTextEnvelope(
  text: string,
  source: string,
  expectedType: string,
): { envelope: TextEnvelope; cbor: Uint8Array } {
  const envelope = parseTextEnvelope(text, source, expectedType);
  return { envelope, cbor: hexToBytesFrom(envelope.cborHex, `${source} (cborHex)`) };
}
