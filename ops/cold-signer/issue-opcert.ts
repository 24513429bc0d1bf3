/**
 * The one way pool-ops signs with the pool's cold key: an operational certificate over a KES key, counter and
 * period, signed by a child process of its own (child.ts) that reads the key from its Secrets Manager secret, signs
 * and exits. This process sends the child the operator's credentials and what to sign, and gets back a signature,
 * which it verifies against the pool's cold verification key before it makes the cert. The key never enters it.
 */
import { awsClientSettings, type AwsTarget } from "../aws/client-config";
import { SecretStoreError } from "../aws/secret-store";
import { bytesToHex, hexToBytesFrom, KeyMaterialError, verifyOperationalCertificate, type OperationalCertificate } from "../cardano";
import { OpsError } from "../remote/result";
import { runSigner, SIGNER_DEADLINE_MS } from "./launch";
import { parseSignerReply, type SignerAws, type SignerRequest } from "./protocol";

export interface ColdSigningRequest {
  /** Secrets Manager id of the cold signing key (`<pool>/cold/signing-key`). */
  readonly secretId: string;
  /** The pool's cold verification key (the counter secret's): the key in the secret must be its pair. */
  readonly coldVerificationKey: Uint8Array;
  /** What the cert carries: the hot KES verification key (32 bytes), its issue counter and start KES period. */
  readonly kesVerificationKey: Uint8Array;
  readonly counter: number;
  readonly kesPeriod: number;
}

const REMEDY = "re-import the pool's key set (pool-ops keys import)";

/** The operator's credentials as this process's SDK resolves them (the emulator's fixed ones for an emulator). */
async function operatorCredentials(target: AwsTarget): Promise<SignerAws["credentials"]> {
  const settings = awsClientSettings(target, "secretsmanager");
  if (settings.credentials) return settings.credentials;
  const sdk = await import("@aws-sdk/client-secrets-manager");
  const client = new sdk.SecretsManagerClient(settings);
  try {
    const { accessKeyId, secretAccessKey, sessionToken } = await client.config.credentials();
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  } catch (error) {
    throw new SecretStoreError("-", `no AWS credentials to read the cold key with: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    client.destroy();
  }
}

/**
 * Signs an op cert with the cold key in `request.secretId`, in a child process. Failures: SecretStoreError (the
 * secret could not be read), KeyMaterialError (its value is no cold signing key), OpsError (another pool's key, or
 * the signer could not run or gave a signature that does not verify).
 */
export async function issueOpcertWithColdKeySecret(target: AwsTarget, request: ColdSigningRequest): Promise<OperationalCertificate> {
  const settings = awsClientSettings(target, "secretsmanager");
  const message: SignerRequest = {
    aws: {
      region: target.region,
      endpoint: target.endpoint,
      secretsManagerEndpoint: target.endpoint ? undefined : settings.endpoint,
      credentials: await operatorCredentials(target),
    },
    secretId: request.secretId,
    coldVerificationKey: bytesToHex(request.coldVerificationKey),
    opcert: { kesVerificationKey: bytesToHex(request.kesVerificationKey), counter: request.counter, kesPeriod: request.kesPeriod },
  };
  const outcome = await runSigner(JSON.stringify(message));
  if (outcome.timedOut) throw new OpsError("-", "sign", `the cold-key signer did not answer within ${SIGNER_DEADLINE_MS / 1000} s and was killed`, "check the operator's network path to Secrets Manager, then run again");
  const reply = parseSignerReply(outcome.stdout);
  if (typeof reply === "string") {
    const said = process.env.POOL_OPS_DEBUG && outcome.stderr ? `: ${outcome.stderr.trim()}` : " (POOL_OPS_DEBUG=1 shows its stderr)";
    throw new OpsError("-", "sign", `the cold-key signer ended (${outcome.exit}) without an answer: ${reply}${said}`, "run again; if it persists, report it");
  }
  if (!reply.ok) {
    switch (reply.failure) {
      case "secret":
        throw new SecretStoreError(request.secretId, reply.message.replace(/^secret \S+: /, ""));
      case "key":
        throw new KeyMaterialError(reply.source ?? "cold signing key secret", reply.message);
      case "mismatch":
        throw new OpsError("-", "sign", reply.message, REMEDY);
      case "refused":
        throw new OpsError("-", "sign", `the cold-key signer refused: ${reply.message}`, "run pool-ops where core dumps can be turned off (ulimit -c 0)");
    }
  }
  const cert: OperationalCertificate = {
    kesVerificationKey: request.kesVerificationKey.slice(),
    counter: request.counter,
    kesPeriod: request.kesPeriod,
    signature: hexToBytesFrom(reply.signature, "the signer's reply"),
    coldVerificationKey: request.coldVerificationKey.slice(),
  };
  if (!verifyOperationalCertificate(cert, request.coldVerificationKey)) {
    throw new OpsError("-", "sign", "the cold-key signer's signature does not verify against the pool's cold verification key", REMEDY);
  }
  return cert;
}
