/**
 * Secrets Manager behind a small interface, so commands can be tested with an in-memory store and run against
 * the emulator or AWS. Values are text-envelope JSON strings. Secrets are created (empty) by the security stack;
 * pool-ops only puts values: PutSecretValue on a missing secret is an error, never a create.
 */
import { awsClientSettings, type AwsTarget } from "./client-config";
import { lazySdk } from "./lazy-sdk";

export interface PutOptions {
  /**
   * The new version's id (Secrets Manager's ClientRequestToken, 32–64 characters). The KES key and op cert secrets
   * are always written with one id for both (ops/aws/hot-pair-secrets.ts), so a reader can fetch a pair that belongs
   * together. @default an id Secrets Manager chooses
   */
  readonly versionId?: string;
}

export interface SecretStore {
  /** Current value of a secret. Rejects with SecretStoreError when missing or without a string value. */
  get(id: string): Promise<{ value: string; versionId: string }>;
  /** Store a new current version of an existing secret. */
  put(id: string, value: string, options?: PutOptions): Promise<{ versionId: string }>;
}

/** An expected failure talking to the secret store; the message names the secret and the remedy. */
export class SecretStoreError extends Error {
  override readonly name = "SecretStoreError";
  constructor(
    readonly secretId: string,
    message: string,
  ) {
    super(`secret ${secretId}: ${message}`);
  }
}

/** Region, emulator endpoint (moto) or a `--aws-private-endpoint` for secretsmanager: awsClientSettings. */
export interface SecretsManagerStoreOptions extends AwsTarget {
  /**
   * Credentials to sign with instead of the SDK's default chain (the cold-key signer child gets the operator's from
   * pool-ops over a pipe). @default the SDK's chain (environment, profile, SSO, …); the emulator's fixed ones
   */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string | undefined } | undefined;
}

function errorName(err: unknown): string {
  return err && typeof err === "object" && "name" in err ? String((err as { name: unknown }).name) : "";
}

export class SecretsManagerSecretStore implements SecretStore {
  private readonly secrets;
  private readonly where: string;
  /** Where its secrets are (region, endpoints): the cold-key signer child reads the cold key from the same place. */
  readonly target: AwsTarget;

  constructor(options: SecretsManagerStoreOptions) {
    this.target = { region: options.region, endpoint: options.endpoint, privateEndpoints: options.privateEndpoints };
    // Named for its service, so that a --aws-private-endpoint for secretsmanager carries the secrets there.
    const settings = { ...awsClientSettings(options, "secretsmanager"), ...(options.credentials ? { credentials: options.credentials } : {}) };
    this.secrets = lazySdk(() => import("@aws-sdk/client-secrets-manager"), (sdk) => new sdk.SecretsManagerClient(settings));
    this.where = options.endpoint ? `the emulator at ${options.endpoint}` : `Secrets Manager in ${options.region}`;
  }

  /** Ends the client's connections (a short-lived process exits without waiting for them to idle). */
  close(): void {
    this.secrets.destroy();
  }

  async get(id: string): Promise<{ value: string; versionId: string }> {
    try {
      const { sdk, client } = await this.secrets.get();
      const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: id }));
      if (typeof out.SecretString !== "string") {
        throw new SecretStoreError(id, `has no string value in ${this.where} (was it ever imported?)`);
      }
      return { value: out.SecretString, versionId: out.VersionId ?? "" };
    } catch (err) {
      throw this.translate(id, err, "read");
    }
  }

  async put(id: string, value: string, options: PutOptions = {}): Promise<{ versionId: string }> {
    try {
      const { sdk, client } = await this.secrets.get();
      const out = await client.send(new sdk.PutSecretValueCommand({ SecretId: id, SecretString: value, ...(options.versionId ? { ClientRequestToken: options.versionId } : {}) }));
      return { versionId: out.VersionId ?? "" };
    } catch (err) {
      throw this.translate(id, err, "write");
    }
  }

  /** Map SDK errors to messages with a remedy; never include the value. */
  private translate(id: string, err: unknown, action: "read" | "write"): Error {
    if (err instanceof SecretStoreError) return err;
    const name = errorName(err);
    if (name === "ResourceNotFoundException") {
      return new SecretStoreError(
        id,
        action === "read"
          ? `not found in ${this.where}, or it has no value yet (deploy the security stack, then run pool-ops keys import)`
          : `does not exist in ${this.where}: deploy the security stack first (it creates the pool's secrets)`,
      );
    }
    if (name === "AccessDeniedException") {
      return new SecretStoreError(id, `access denied in ${this.where} (use the operator role to ${action} it)`);
    }
    const detail = err instanceof Error ? err.message : String(err);
    return new SecretStoreError(id, `could not ${action} it in ${this.where}: ${name || "error"}: ${detail}`);
  }
}

/** In-memory store for tests and dry runs; secrets must be created first, as with the security stack. */
export class MemorySecretStore implements SecretStore {
  private readonly secrets = new Map<string, { value: string; versionId: string } | null>();
  private version = 0;

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.secrets.set(id, null);
  }

  create(id: string): void {
    if (!this.secrets.has(id)) this.secrets.set(id, null);
  }

  async get(id: string): Promise<{ value: string; versionId: string }> {
    const entry = this.secrets.get(id);
    if (!entry) throw new SecretStoreError(id, "not found, or it has no value yet");
    return { ...entry };
  }

  async put(id: string, value: string, options: PutOptions = {}): Promise<{ versionId: string }> {
    if (!this.secrets.has(id)) throw new SecretStoreError(id, "does not exist: deploy the security stack first");
    const versionId = options.versionId ?? `v${++this.version}`;
    this.secrets.set(id, { value, versionId });
    return { versionId };
  }
}
