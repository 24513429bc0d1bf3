/**
 * The known_hosts file: OpenSSH's format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT": plain, `[host]:port`, hashed
 * `|1|salt|hash`, wildcards, negation, `@revoked`, `@cert-authority`), plus the identity pool-ops writes in the
 * comment field, which OpenSSH ignores:
 *
 *     10.40.1.20 ssh-ed25519 AAAA… producer-1 i-0abc12345def67890 pool=sandstone
 *
 * The first comment word is the host's inventory name, an `i-…` word the EC2 instance id, `pool=` the pool. Lines
 * written by older pool-ops and by the lab carry the name alone; lines from ssh-keyscan or ssh carry none (they bind
 * a key to an address only).
 */
import { createHash, createHmac } from "node:crypto";

export interface RecordedIdentity {
  /** Inventory host name (`relay-1`). */
  readonly name?: string | undefined;
  /** EC2 instance id the key was recorded for. */
  readonly instanceId?: string | undefined;
  readonly pool?: string | undefined;
}

export interface KnownHostEntry {
  readonly patterns: readonly string[];
  readonly marker: "revoked" | "cert-authority" | undefined;
  readonly keyType: string;
  readonly key: Buffer;
  readonly line: number;
  readonly identity: RecordedIdentity;
}

const HOST_NAME = /^[a-z][a-z0-9-]*$/;
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
const POOL = /^pool=([a-z][a-z0-9-]{1,22}[a-z0-9])$/;

/** `SHA256:` + unpadded base64 of sha256(key blob), as `ssh-keygen -lf` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return "unknown";
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString("latin1");
}

/** The name known_hosts uses for an address: bare on port 22, `[address]:port` otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** The identity in a comment: first word a host name, an `i-…` word, a `pool=` word; anything else is no identity. */
export function parseIdentityComment(words: readonly string[]): RecordedIdentity {
  const [first, ...rest] = words;
  if (!first || !HOST_NAME.test(first)) return {};
  const instanceId = rest.find((w) => INSTANCE_ID.test(w));
  const pool = rest.map((w) => POOL.exec(w)?.[1]).find(Boolean);
  return { name: first, ...(instanceId ? { instanceId } : {}), ...(pool ? { pool } : {}) };
}

/** The comment pool-ops writes for a recorded key. */
export function identityComment(identity: RecordedIdentity): string {
  return [identity.name, identity.instanceId, identity.pool ? `pool=${identity.pool}` : undefined].filter(Boolean).join(" ");
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry["marker"];
    if (fields[0]?.startsWith("@")) {
      const m = fields.shift()?.slice(1);
      if (m !== "revoked" && m !== "cert-authority") return;
      marker = m;
    }
    const [hosts, keyType, blob, ...comment] = fields;
    if (!hosts || !keyType || !blob) return;
    entries.push({ patterns: hosts.split(","), marker, keyType, key: Buffer.from(blob, "base64"), line: index + 1, identity: parseIdentityComment(comment) });
  });
  return entries;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return regex.test(name);
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    // Hashed: |1|base64(salt)|base64(HMAC-SHA1(salt, name)) (OpenSSH hostfile.c, host_hash)
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  return wildcardMatch(pattern.toLowerCase(), name.toLowerCase());
}

/** Whether an entry's host patterns cover `name` (a negated pattern that matches excludes the entry). */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  let matched = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith("!")) {
      if (patternMatches(pattern.slice(1), name)) return false;
    } else if (patternMatches(pattern, name)) matched = true;
  }
  return matched;
}

/** One OpenSSH line for a key recorded by pool-ops. */
export function knownHostsLine(address: string, port: number, keyType: string, key: Buffer, identity: RecordedIdentity): string {
  return `${knownHostsName(address, port)} ${keyType} ${key.toString("base64")} ${identityComment(identity)}`.trimEnd();
}
