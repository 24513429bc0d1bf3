/**
 * Run as its own process (`node --import tsx test/cold-key-in-emulator.ts ENDPOINT REGION SECRET_ID`): makes a cold
 * key, puts its text envelope into the emulator's secret, and prints JSON with the cold verification key and the
 * secrets a memory search looks for — masked (test/process-memory.ts), so that the process that reads the output
 * never holds the seed or its expansion itself.
 */
import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { sha512 } from "@noble/hashes/sha2.js";
import { randomBytes } from "node:crypto";
import { awsClientSettings } from "../ops/aws/client-config";
import { bytesToHex, generateColdKey, writeColdSigningKey } from "../ops/cardano";

export interface ColdKeyInEmulator {
  readonly coldVerificationKey: string;
  /** Hex of needle XOR mask, and the mask, per needle name. */
  readonly needles: { name: string; masked: string; mask: string }[];
}

function masked(name: string, secret: Uint8Array) {
  const mask = randomBytes(secret.length);
  return { name, masked: bytesToHex(secret.map((b, i) => b ^ mask[i]!)), mask: bytesToHex(mask) };
}

async function main(): Promise<void> {
  const [endpoint, region, secretId] = process.argv.slice(2);
  const cold = generateColdKey();
  const client = new SecretsManagerClient(awsClientSettings({ region: region!, endpoint }));
  await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: writeColdSigningKey(cold.signingKey) }));
  client.destroy();
  // RFC 8032 §5.1.5: the first half, clamped, is the secret scalar; the second half the nonce prefix.
  const expansion = sha512(cold.signingKey);
  const scalar = expansion.slice(0, 32);
  scalar[0]! &= 248;
  scalar[31]! &= 127;
  scalar[31]! |= 64;
  const out: ColdKeyInEmulator = {
    coldVerificationKey: bytesToHex(cold.verificationKey),
    needles: [
      masked("the 32-byte seed", cold.signingKey),
      masked("its 64-byte SHA-512 expansion", expansion),
      masked("the expansion's clamped scalar half", scalar),
      masked("the expansion's nonce-prefix half", expansion.slice(32)),
    ],
  };
  process.stdout.write(JSON.stringify(out));
}

await main();
