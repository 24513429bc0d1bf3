/**
 * What crosses the pipes between pool-ops and its cold-key signer child (ops/cold-signer/child.ts): one JSON request
 * on the child's stdin, one JSON reply on its stdout. Neither ever carries the cold key: the request says where the
 * key is and what to sign, the reply is a signature or a failure the parent can name.
 */

/** Where the child reads the secret, and as whom. */
export interface SignerAws {
  readonly region: string;
  /** Loopback emulator endpoint (moto), as `--aws-endpoint`. @default AWS itself */
  readonly endpoint?: string | undefined;
  /** A `--aws-private-endpoint` for secretsmanager. @default the regional endpoint */
  readonly secretsManagerEndpoint?: string | undefined;
  /**
   * The operator's credentials, as the parent's SDK resolved them (profile, SSO, assumed role…). Handed over the pipe
   * rather than in the child's environment, which stays reduced (launch.ts), and the child then consults no profile,
   * credential file or metadata service of its own.
   */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string | undefined };
}

export interface SignerRequest {
  readonly aws: SignerAws;
  /** Secrets Manager id of the cold signing key. */
  readonly secretId: string;
  /** Hex of the pool's cold verification key: the child refuses a secret holding another key. */
  readonly coldVerificationKey: string;
  /** The op cert body the cold key signs (opcertSignable). */
  readonly opcert: { readonly kesVerificationKey: string; readonly counter: number; readonly kesPeriod: number };
}

/**
 * `secret`: the secret could not be read (message as SecretStoreError words it). `key`: its value is no cold signing
 * key (KeyMaterialError's source and problem). `mismatch`: it holds another pool's key. `refused`: the child would
 * not touch the key (core dumps could not be turned off) or the request was malformed.
 */
export type SignerFailure = "secret" | "key" | "mismatch" | "refused";

export type SignerReply =
  | { readonly ok: true; readonly signature: string }
  | { readonly ok: false; readonly failure: SignerFailure; readonly message: string; readonly source?: string };

const HEX = /^(?:[0-9a-f]{2})*$/;

function isHex(value: unknown, bytes: number): value is string {
  return typeof value === "string" && value.length === bytes * 2 && HEX.test(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** The request, checked field by field; a string saying what is wrong otherwise. */
export function parseSignerRequest(text: string): SignerRequest | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "the request is not JSON";
  }
  const r = value as Partial<Record<keyof SignerRequest, unknown>>;
  const aws = r?.aws as Partial<Record<keyof SignerAws, unknown>> | undefined;
  const credentials = aws?.credentials as Record<string, unknown> | undefined;
  const opcert = r?.opcert as Record<string, unknown> | undefined;
  if (!aws || !isText(aws.region)) return "the request names no AWS region";
  if (aws.endpoint !== undefined && !isText(aws.endpoint)) return "the request's emulator endpoint is not a string";
  if (aws.secretsManagerEndpoint !== undefined && !isText(aws.secretsManagerEndpoint)) return "the request's private endpoint is not a string";
  if (!credentials || !isText(credentials.accessKeyId) || !isText(credentials.secretAccessKey)) return "the request carries no AWS credentials";
  if (credentials.sessionToken !== undefined && !isText(credentials.sessionToken)) return "the request's session token is not a string";
  if (!isText(r.secretId)) return "the request names no secret";
  if (!isHex(r.coldVerificationKey, 32)) return "the request's cold verification key is not 32 bytes of hex";
  if (!opcert || !isHex(opcert.kesVerificationKey, 32) || !isCount(opcert.counter) || !isCount(opcert.kesPeriod)) {
    return "the request's op cert body is not a 32-byte KES key, a counter and a KES period";
  }
  return value as SignerRequest;
}

/** The reply, checked; a string saying what is wrong otherwise. */
export function parseSignerReply(text: string): SignerReply | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "its reply is not JSON";
  }
  const r = value as Record<string, unknown> | null;
  if (r?.ok === true && isHex(r.signature, 64)) return { ok: true, signature: r.signature };
  const failures: readonly string[] = ["secret", "key", "mismatch", "refused"] satisfies SignerFailure[];
  if (r?.ok === false && typeof r.failure === "string" && failures.includes(r.failure) && typeof r.message === "string") {
    return { ok: false, failure: r.failure as SignerFailure, message: r.message, ...(typeof r.source === "string" ? { source: r.source } : {}) };
  }
  return "its reply is neither a signature nor a failure";
}
