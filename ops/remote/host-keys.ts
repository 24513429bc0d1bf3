/**
 * Host key verification. ssh2 accepts any host key unless told otherwise, so every connection pool-ops opens carries a
 * verifier bound to the address it meant to reach (through the bastion a forwarded channel has no host name of its
 * own). Keys come from a known_hosts file (OpenSSH format: plain, `[host]:port`, hashed `|1|…`, wildcards, negation,
 * `@revoked`) or from fingerprints pinned in the inventory. Unknown and changed keys are refused; `pool-ops hosts
 * trust` records unknown keys on first use, only when asked.
 */
import { createHash, createHmac } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface KnownHostEntry {
  readonly patterns: readonly string[];
  readonly marker: "revoked" | "cert-authority" | undefined;
  readonly keyType: string;
  readonly key: Buffer;
  readonly line: number;
}

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
    const [hosts, keyType, blob] = fields;
    if (!hosts || !keyType || !blob) return;
    entries.push({ patterns: hosts.split(","), marker, keyType, key: Buffer.from(blob, "base64"), line: index + 1 });
  });
  return entries;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return regex.test(name);
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    // Hashed: |1|base64(salt)|base64(HMAC-SHA1(salt, name)) (OpenSSH hostfile.c)
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

/** ssh2 host key algorithm names that can present a key of a known_hosts key type. */
function algorithmsFor(keyType: string): string[] {
  if (keyType === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  return [keyType];
}

export interface HostKeyTarget {
  /** Inventory host name (for messages and pinned fingerprints). */
  readonly name: string;
  /** The address pool-ops meant to reach: the verifier is bound to it. */
  readonly address: string;
  readonly port: number;
}

export type HostKeyVerdict =
  | { readonly kind: "trusted"; readonly fingerprint: string }
  | { readonly kind: "recorded"; readonly fingerprint: string; readonly keyType: string; readonly key: Buffer }
  | { readonly kind: "unknown"; readonly fingerprint: string; readonly keyType: string }
  | { readonly kind: "changed"; readonly fingerprint: string; readonly keyType: string; readonly expected: string }
  | { readonly kind: "revoked"; readonly fingerprint: string };

export interface HostKeyPolicyOptions {
  /** known_hosts file; a missing file is an empty one. */
  readonly knownHostsFile: string;
  /** Pinned fingerprints by host name (the inventory's `hostKeys`). They win over known_hosts. */
  readonly pinned?: Readonly<Record<string, string>> | undefined;
  /** Accept unknown keys and report them as `recorded` (what `hosts trust` does). Changed keys stay refused. */
  readonly trustOnFirstUse?: boolean;
}

/** One verification: ssh2's `hostVerifier`, the algorithms to offer, and what happened (for the error message). */
export interface HostKeyCheck {
  readonly hostVerifier: (key: Buffer) => boolean;
  readonly serverHostKeyAlgorithms: string[] | undefined;
  verdict(): HostKeyVerdict | undefined;
}

export class HostKeyPolicy {
  private entries: KnownHostEntry[] | undefined;

  constructor(readonly options: HostKeyPolicyOptions) {}

  private known(): KnownHostEntry[] {
    if (!this.entries) {
      const file = this.options.knownHostsFile;
      this.entries = existsSync(file) ? parseKnownHosts(readFileSync(file, "utf8")) : [];
    }
    return this.entries;
  }

  /** Plain-key entries (not CA, not revoked) that cover the target. */
  entriesFor(target: HostKeyTarget): KnownHostEntry[] {
    const name = knownHostsName(target.address, target.port);
    return this.known().filter((e) => e.marker === undefined && entryMatches(e, name));
  }

  decide(target: HostKeyTarget, key: Buffer): HostKeyVerdict {
    const fingerprint = fingerprintOf(key);
    const keyType = keyTypeOf(key);
    const name = knownHostsName(target.address, target.port);
    if (this.known().some((e) => e.marker === "revoked" && entryMatches(e, name) && e.key.equals(key))) return { kind: "revoked", fingerprint };
    const pinned = this.options.pinned?.[target.name];
    if (pinned) return pinned === fingerprint ? { kind: "trusted", fingerprint } : { kind: "changed", fingerprint, keyType, expected: pinned };
    const entries = this.entriesFor(target);
    if (entries.some((e) => e.key.equals(key))) return { kind: "trusted", fingerprint };
    if (entries.length > 0) {
      const same = entries.find((e) => e.keyType === keyType) ?? entries[0]!;
      return { kind: "changed", fingerprint, keyType, expected: `${fingerprintOf(same.key)} (${this.options.knownHostsFile}:${same.line})` };
    }
    if (this.options.trustOnFirstUse) return { kind: "recorded", fingerprint, keyType, key };
    return { kind: "unknown", fingerprint, keyType };
  }

  check(target: HostKeyTarget): HostKeyCheck {
    let verdict: HostKeyVerdict | undefined;
    // Offer only the key types we know for this host, as OpenSSH does, so a host with several keys presents the one
    // we can check instead of being refused as "changed".
    const types = this.options.pinned?.[target.name] ? [] : [...new Set(this.entriesFor(target).map((e) => e.keyType))];
    return {
      hostVerifier: (key: Buffer) => {
        verdict = this.decide(target, key);
        return verdict.kind === "trusted" || verdict.kind === "recorded";
      },
      serverHostKeyAlgorithms: types.length > 0 ? types.flatMap(algorithmsFor) : undefined,
      verdict: () => verdict,
    };
  }

  /**
   * A replaced instance's keys, learnt from a trusted channel (EC2's console output): the host's plain entries for
   * this address are dropped and the new keys written in their place. Revoked and CA lines are kept.
   * Returns how many old lines were replaced.
   */
  replace(target: HostKeyTarget, keys: ReadonlyArray<{ keyType: string; key: Buffer }>): number {
    const file = this.options.knownHostsFile;
    const name = knownHostsName(target.address, target.port);
    const stale = new Set(this.entriesFor(target).map((e) => e.line));
    const kept = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((_, i) => !stale.has(i + 1)) : [];
    while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
    const added = keys.map(({ keyType, key }) => `${name} ${keyType} ${key.toString("base64")} ${target.name}`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${[...kept, ...added].join("\n")}\n`, { mode: 0o644 });
    this.entries = undefined;
    return stale.size;
  }

  /** Appends keys recorded on first use (`hosts trust`), one OpenSSH line each: `address type key comment`. */
  record(lines: ReadonlyArray<{ target: HostKeyTarget; keyType: string; key: Buffer }>): void {
    if (lines.length === 0) return;
    const file = this.options.knownHostsFile;
    mkdirSync(dirname(file), { recursive: true });
    const text = lines
      .map(({ target, keyType, key }) => `${knownHostsName(target.address, target.port)} ${keyType} ${key.toString("base64")} ${target.name}\n`)
      .join("");
    appendFileSync(file, text, { mode: 0o644 });
    this.entries = undefined;
  }
}

/** The message for a refused key: host, offered fingerprint, and what to do. */
export function describeRefusal(target: HostKeyTarget, verdict: HostKeyVerdict, knownHostsFile: string): { message: string; remedy: string } {
  const where = `${target.name} (${knownHostsName(target.address, target.port)})`;
  switch (verdict.kind) {
    case "unknown":
      return {
        message: `unknown host key for ${where}: offered ${verdict.keyType} ${verdict.fingerprint}, not in ${knownHostsFile}`,
        remedy: `check the fingerprint (e.g. in the instance's console output), then run \`pool-ops hosts trust --hosts ${target.name}\``,
      };
    case "changed":
      return {
        message: `HOST KEY CHANGED for ${where}: offered ${verdict.keyType} ${verdict.fingerprint}, expected ${verdict.expected}. Someone may be intercepting the connection, or the host was rebuilt`,
        remedy: `if the host was rebuilt, verify the new fingerprint, remove the old key (\`ssh-keygen -R ${knownHostsName(target.address, target.port)} -f ${knownHostsFile}\` or the inventory's hostKeys) and run \`pool-ops hosts trust --hosts ${target.name}\``,
      };
    case "revoked":
      return { message: `revoked host key for ${where}: ${verdict.fingerprint}`, remedy: "the key is marked @revoked in known_hosts; rebuild the host's keys" };
    default:
      return { message: `host key for ${where} accepted`, remedy: "" };
  }
}
