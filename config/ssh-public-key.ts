/**
 * OpenSSH public keys as they appear in an `authorized_keys` line: `<type> <base64 blob> [comment]`. The pool config
 * names the operators' login keys this way, and cloud-init installs them for the login user on every host.
 *
 * Only public keys are accepted: a private key pasted by mistake is refused with a message that says so (and the
 * value is never echoed back, since it would then sit in a terminal's scrollback or a CI log).
 */
import { createHash } from "node:crypto";

/**
 * Key types OpenSSH 9 (Debian 12) accepts for user authentication, FIDO (`sk-…`) keys included. `ssh-dss` is
 * refused: OpenSSH 9.8 removed DSA, and 7.0 already disabled it by default.
 */
export const ACCEPTED_KEY_TYPES = [
  "ssh-ed25519",
  "sk-ssh-ed25519@openssh.com",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-rsa",
] as const;

/** RSA keys shorter than this are refused (NIST SP 800-57: 2048 bits is the floor until 2030; OpenSSH warns below 3072). */
export const MIN_RSA_BITS = 2048;

export interface SshPublicKey {
  readonly type: (typeof ACCEPTED_KEY_TYPES)[number];
  /** The key blob, base64 as written. */
  readonly blob: string;
  readonly comment: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
}

/** A reason the text is not an acceptable public key, or undefined when it is one. */
export function sshPublicKeyProblem(text: string): string | undefined {
  const parsed = parseSshPublicKey(text);
  return typeof parsed === "string" ? parsed : undefined;
}

/** The key, or a sentence saying what is wrong with it (never quoting a private key). */
export function parseSshPublicKey(text: string): SshPublicKey | string {
  if (/PRIVATE KEY/.test(text)) return "this is a private key: give the public key (the .pub file, one line starting with its type, e.g. ssh-ed25519)";
  if (/[\r\n]/.test(text.trim())) return "expected one line: an OpenSSH public key such as `ssh-ed25519 AAAA… you@laptop`";
  const [type, blob, ...rest] = text.trim().split(/\s+/);
  if (!type || !blob) return "expected an OpenSSH public key: `<type> <base64> [comment]`, e.g. `ssh-ed25519 AAAA… you@laptop`";
  if (!(ACCEPTED_KEY_TYPES as readonly string[]).includes(type)) {
    if (type === "ssh-dss") return "DSA keys are no longer accepted by OpenSSH: use ssh-ed25519 (ssh-keygen -t ed25519)";
    return `unknown key type ${JSON.stringify(type.slice(0, 40))}: expected one of ${ACCEPTED_KEY_TYPES.join(", ")} (options before the type are not allowed here)`;
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return "the key's second field is not base64";
  const bytes = Buffer.from(blob, "base64");
  const embedded = readSshString(bytes, 0);
  if (!embedded || embedded.value.toString("latin1") !== type) return `the key blob does not hold a ${type} key (corrupt or truncated copy?)`;
  if (type === "ssh-ed25519" || type === "sk-ssh-ed25519@openssh.com") {
    const point = readSshString(bytes, embedded.next);
    if (!point || point.value.length !== 32) return `the ${type} key blob is truncated or corrupt (expected a 32-byte key)`;
  }
  if (type.includes("ecdsa")) {
    const curve = readSshString(bytes, embedded.next);
    const point = curve && readSshString(bytes, curve.next);
    if (!point) return `the ${type} key blob is truncated`;
  }
  if (type === "ssh-rsa") {
    const exponent = readSshString(bytes, embedded.next);
    const modulus = exponent && readSshString(bytes, exponent.next);
    if (!modulus) return "the ssh-rsa key blob is truncated";
    const bits = rsaModulusBits(modulus.value);
    if (bits < MIN_RSA_BITS) return `an RSA key of ${bits} bits is too short: use at least ${MIN_RSA_BITS} bits, or ssh-ed25519`;
  }
  const fingerprint = `SHA256:${createHash("sha256").update(bytes).digest("base64").replace(/=+$/, "")}`;
  return { type: type as SshPublicKey["type"], blob, comment: rest.join(" "), fingerprint };
}

/** RFC 4251 `string`: uint32 length then bytes. */
function readSshString(bytes: Buffer, offset: number): { value: Buffer; next: number } | undefined {
  if (offset + 4 > bytes.length) return undefined;
  const length = bytes.readUInt32BE(offset);
  const end = offset + 4 + length;
  if (end > bytes.length) return undefined;
  return { value: bytes.subarray(offset + 4, end), next: end };
}

/** Bits of an RFC 4251 `mpint` (a leading zero byte only marks it positive). */
function rsaModulusBits(mpint: Buffer): number {
  let i = 0;
  while (i < mpint.length && mpint[i] === 0) i++;
  if (i === mpint.length) return 0;
  return (mpint.length - i - 1) * 8 + (32 - Math.clz32(mpint[i] as number));
}
