/**
 * The cold-key signer: a process of its own, started by pool-ops for one signature (launch.ts), that alone reads the
 * pool's cold key. It reads one request on stdin (protocol.ts), refuses to go on unless core dumps are off, reads the
 * secret with the credentials the request carries, checks the key is the pool's, signs the op cert body, wipes every
 * buffer that held the seed, writes the signature (never the key) as its one line on stdout and exits.
 *
 * Nothing here writes to stderr or a file; failures are replies the parent words. An error this code did not expect
 * is reported by its name only: its message could quote the secret (JSON.parse's does).
 */
import { text } from "node:stream/consumers";
import { SecretsManagerSecretStore, SecretStoreError } from "../aws/secret-store";
import { hexToBytesFrom, KeyMaterialError, opcertSignable } from "../cardano";
import { coldSeedFromEnvelope, ed25519PrivateKey, ed25519PublicKey, ed25519Sign } from "./cold-key-bytes";
import { becomeNonDumpableAsRoot, CoreDumpsOn, requireNoCoreDumps } from "./process-hardening";
import { parseSignerRequest, type SignerReply, type SignerRequest } from "./protocol";

/** The name the parent gives this process's failures about the secret's content. */
const SECRET_SOURCE = "cold signing key secret";

async function sign(request: SignerRequest): Promise<SignerReply> {
  const { aws } = request;
  const target = { region: aws.region, endpoint: aws.endpoint, privateEndpoints: aws.secretsManagerEndpoint ? { secretsmanager: aws.secretsManagerEndpoint } : {} };
  const store = new SecretsManagerSecretStore({ ...target, credentials: aws.credentials });
  let seed: Buffer | undefined;
  try {
    const { value } = await store.get(request.secretId);
    seed = coldSeedFromEnvelope(value, SECRET_SOURCE);
    const key = ed25519PrivateKey(seed);
    seed.fill(0);
    if (!ed25519PublicKey(key).equals(Buffer.from(request.coldVerificationKey, "hex"))) {
      return { ok: false, failure: "mismatch", message: "the cold key secret does not belong to the counter secret's pool" };
    }
    const { kesVerificationKey, counter, kesPeriod } = request.opcert;
    const signable = opcertSignable(hexToBytesFrom(kesVerificationKey, "request"), counter, kesPeriod);
    return { ok: true, signature: ed25519Sign(key, signable).toString("hex") };
  } catch (error) {
    if (error instanceof SecretStoreError) return { ok: false, failure: "secret", message: error.message };
    if (error instanceof KeyMaterialError) return { ok: false, failure: "key", message: error.problem, source: error.source };
    throw error;
  } finally {
    seed?.fill(0);
    store.close();
  }
}

async function main(): Promise<SignerReply> {
  try {
    requireNoCoreDumps();
    becomeNonDumpableAsRoot();
    const request = parseSignerRequest(await text(process.stdin));
    if (typeof request === "string") return { ok: false, failure: "refused", message: request };
    return await sign(request);
  } catch (error) {
    if (error instanceof CoreDumpsOn) return { ok: false, failure: "refused", message: error.message };
    return { ok: false, failure: "refused", message: `the signer failed unexpectedly (${error instanceof Error ? error.name : typeof error})` };
  }
}

const reply = await main();
process.stdout.write(`${JSON.stringify(reply)}\n`, () => process.exit(reply.ok ? 0 : 1));
