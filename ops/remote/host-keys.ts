/**
 * Host key verification, bound to the host's identity. ssh2 accepts any host key unless told otherwise, so every
 * connection pool-ops opens carries a verifier bound to the host it meant to reach: its inventory name, EC2 instance
 * id, address and port (through the bastion a forwarded channel has no host name of its own).
 *
 * A key is trusted only when the operator's known_hosts (known-hosts.ts) records it for this address *and* the
 * identity recorded with it (name, instance id, pool) agrees with the inventory's. So an inventory entry (Terraform
 * outputs, EC2 tags) that points `producer-1` at a relay's address is refused — the relay's key is recorded for
 * relay-1 — as is a host whose recorded address differs from the one the inventory gives. Fingerprints pinned in the
 * inventory are a cross-check only: they never make a key trusted and never override known_hosts; a pin that
 * disagrees with known_hosts or with the offered key refuses the host. Unknown and changed keys are refused;
 * `pool-ops hosts trust` records unknown keys, only when asked (and confirms them against EC2's console output).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { entryMatches, fingerprintOf, keyTypeOf, knownHostsLine, knownHostsName, parseKnownHosts, type KnownHostEntry, type RecordedIdentity } from "./known-hosts";

export { entryMatches, fingerprintOf, keyTypeOf, knownHostsName, parseKnownHosts, type KnownHostEntry } from "./known-hosts";

export interface HostKeyTarget {
  /** Inventory host name (for messages, pinned fingerprints and the identity recorded with a key). */
  readonly name: string;
  /** The address pool-ops meant to reach: the verifier is bound to it. */
  readonly address: string;
  readonly port: number;
  /** The EC2 instance the inventory says this host is. @default unknown: only name, address and key are compared */
  readonly instanceId?: string | undefined;
  /** The pool the inventory belongs to (one known_hosts may serve several pools). @default unknown */
  readonly pool?: string | undefined;
}

export type HostKeyVerdict =
  | { readonly kind: "trusted"; readonly fingerprint: string }
  | { readonly kind: "recorded"; readonly fingerprint: string; readonly keyType: string; readonly key: Buffer }
  | { readonly kind: "unknown"; readonly fingerprint: string; readonly keyType: string }
  | { readonly kind: "changed"; readonly fingerprint: string; readonly keyType: string; readonly expected: string }
  | { readonly kind: "revoked"; readonly fingerprint: string }
  /** The key, the address or a pin contradicts the identity recorded in known_hosts. */
  | { readonly kind: "mismatch"; readonly fingerprint: string; readonly keyType: string; readonly reason: string };

export interface HostKeyPolicyOptions {
  /** known_hosts file; a missing file is an empty one. */
  readonly knownHostsFile: string;
  /** Fingerprints the inventory pins, by host name: checked against known_hosts and the offered key, never trusted alone. */
  readonly pinned?: Readonly<Record<string, string>> | undefined;
  /** Accept unknown keys and report them as `recorded` (what `hosts trust` does). Changed keys stay refused. */
  readonly trustOnFirstUse?: boolean;
}

/** One verification: ssh2's `hostVerifier`, the host key types to offer, and what happened (for the error message). */
export interface HostKeyCheck {
  readonly hostVerifier: (key: Buffer) => boolean;
  /** Key types known_hosts records for this host (empty: none recorded, offer every modern type). */
  readonly hostKeyTypes: string[];
  verdict(): HostKeyVerdict | undefined;
}

export class HostKeyFileError extends Error {
  override name = "HostKeyFileError";
}

function describeIdentity(identity: RecordedIdentity): string {
  return identity.name ? `${identity.name}${identity.instanceId ? ` (${identity.instanceId})` : ""}` : "a host with no recorded name";
}

export class HostKeyPolicy {
  private entries: KnownHostEntry[] | undefined;

  constructor(readonly options: HostKeyPolicyOptions) {}

  private known(): KnownHostEntry[] {
    if (!this.entries) {
      const file = this.options.knownHostsFile;
      if (!existsSync(file)) this.entries = [];
      else {
        // Whoever can write the file decides which hosts are trusted.
        const mode = statSync(file).mode;
        if ((mode & 0o022) !== 0) throw new HostKeyFileError(`${file} is writable by other users (mode ${(mode & 0o777).toString(8)}): anyone who can write it decides which host keys are trusted; run \`chmod go-w ${file}\``);
        this.entries = parseKnownHosts(readFileSync(file, "utf8"));
      }
    }
    return this.entries;
  }

  /** Plain entries of this pool (or of no pool), i.e. not CA, not revoked, not another pool's. */
  private plain(target: HostKeyTarget): KnownHostEntry[] {
    return this.known().filter((e) => e.marker === undefined && (!e.identity.pool || !target.pool || e.identity.pool === target.pool));
  }

  /** Whether an entry's recorded identity is this target's (an entry with no recorded name binds the address only). */
  private isSelf(entry: KnownHostEntry, target: HostKeyTarget): boolean {
    const { name, instanceId } = entry.identity;
    return (!name || name === target.name) && (!instanceId || !target.instanceId || instanceId === target.instanceId);
  }

  /** Plain entries recorded for this target at its address. */
  entriesFor(target: HostKeyTarget): KnownHostEntry[] {
    const name = knownHostsName(target.address, target.port);
    return this.plain(target).filter((e) => entryMatches(e, name) && this.isSelf(e, target));
  }

  decide(target: HostKeyTarget, key: Buffer): HostKeyVerdict {
    const fingerprint = fingerprintOf(key);
    const keyType = keyTypeOf(key);
    const where = knownHostsName(target.address, target.port);
    const file = this.options.knownHostsFile;
    if (this.known().some((e) => e.marker === "revoked" && entryMatches(e, where) && e.key.equals(key))) return { kind: "revoked", fingerprint };
    const mismatch = (reason: string): HostKeyVerdict => ({ kind: "mismatch", fingerprint, keyType, reason });
    const plain = this.plain(target);
    const mine = plain.filter((e) => entryMatches(e, where) && this.isSelf(e, target));
    const pinned = this.options.pinned?.[target.name];

    // The key is recorded for another host (here or at another address): whatever the inventory says, that is the
    // host we reached.
    const elsewhere = plain.find((e) => e.key.equals(key) && !this.isSelf(e, target) && e.identity.name);
    if (elsewhere && !mine.some((e) => e.key.equals(key))) {
      if (elsewhere.identity.name === target.name) {
        return mismatch(`${file}:${elsewhere.line} records ${target.name}'s key as instance ${elsewhere.identity.instanceId}, but the inventory says ${target.instanceId}: the instance was replaced, or the inventory is wrong`);
      }
      return mismatch(`${file}:${elsewhere.line} records this key for ${describeIdentity(elsewhere.identity)}, but the inventory says ${target.name}${target.instanceId ? ` (${target.instanceId})` : ""} is at ${where}`);
    }
    if (mine.some((e) => e.key.equals(key))) {
      if (pinned && pinned !== fingerprint) return mismatch(`the inventory pins ${pinned} for ${target.name}, but ${file} records ${fingerprint}: a pin never overrides known_hosts (the inventory may have been altered)`);
      return { kind: "trusted", fingerprint };
    }
    if (mine.length > 0) {
      const same = mine.find((e) => e.keyType === keyType) ?? mine[0]!;
      return { kind: "changed", fingerprint, keyType, expected: `${fingerprintOf(same.key)} (${file}:${same.line})` };
    }
    // Recorded under this name (and instance) at another address: the inventory moved the host.
    const moved = plain.find((e) => e.identity.name === target.name && this.isSelf(e, target));
    if (moved) return mismatch(`${file}:${moved.line} records ${target.name} at ${moved.patterns.join(",")}, but the inventory says ${where}`);
    const sameName = plain.find((e) => e.identity.name === target.name && entryMatches(e, where));
    if (sameName) return mismatch(`${file}:${sameName.line} records ${target.name} at ${where} as instance ${sameName.identity.instanceId}, but the inventory says ${target.instanceId}: the instance was replaced, or the inventory is wrong`);
    if (pinned && pinned !== fingerprint) return mismatch(`the inventory pins ${pinned} for ${target.name}, but the host offered ${fingerprint}`);
    if (this.options.trustOnFirstUse) return { kind: "recorded", fingerprint, keyType, key };
    return { kind: "unknown", fingerprint, keyType };
  }

  /**
   * Before any connection (and whether it goes direct or through the agent, which never sees pins): a pin that
   * disagrees with every key known_hosts records for the host refuses it. Undefined when there is nothing to refuse.
   */
  pinConflict(target: HostKeyTarget): string | undefined {
    const pinned = this.options.pinned?.[target.name];
    if (!pinned) return undefined;
    const mine = this.entriesFor(target);
    if (mine.length === 0 || mine.some((e) => fingerprintOf(e.key) === pinned)) return undefined;
    return `the inventory pins ${pinned} for ${target.name}, but ${this.options.knownHostsFile} records ${mine.map((e) => fingerprintOf(e.key)).join(", ")}: a pin never overrides known_hosts (the inventory may have been altered)`;
  }

  check(target: HostKeyTarget): HostKeyCheck {
    let verdict: HostKeyVerdict | undefined;
    // Offer only the key types recorded for this host, as OpenSSH does, so a host with several keys presents the one
    // we can check instead of being refused as "changed".
    const types = [...new Set(this.entriesFor(target).map((e) => e.keyType))];
    return {
      hostVerifier: (key: Buffer) => {
        verdict = this.decide(target, key);
        return verdict.kind === "trusted" || verdict.kind === "recorded";
      },
      hostKeyTypes: types,
      verdict: () => verdict,
    };
  }

  private write(lines: readonly string[]): void {
    const file = this.options.knownHostsFile;
    mkdirSync(dirname(file), { recursive: true });
    // Whole-file replace by rename: a reader (the agent, another command) sees the old file or the new one.
    const tmp = `${file}.pool-ops-${process.pid}`;
    writeFileSync(tmp, lines.length > 0 ? `${lines.join("\n")}\n` : "", { mode: existsSync(file) ? statSync(file).mode & 0o755 : 0o644 });
    renameSync(tmp, file);
    this.entries = undefined;
  }

  private lines(): string[] {
    const file = this.options.knownHostsFile;
    const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
  }

  /**
   * A replaced instance's keys, learnt from a trusted channel (EC2's console output): the host's plain entries (at
   * this address, or recorded under its name) are dropped and the new keys written in their place, with its
   * identity. Revoked and CA lines are kept. Returns how many old lines were replaced.
   */
  replace(target: HostKeyTarget, keys: ReadonlyArray<{ keyType: string; key: Buffer }>): number {
    const where = knownHostsName(target.address, target.port);
    // Only this pool's lines (or, for a target of no known pool, lines of no pool): another pool's host at the same
    // private address, or of the same name, keeps its line.
    const samePool = (e: KnownHostEntry) => e.identity.pool === target.pool || (e.identity.pool === undefined && target.pool !== undefined);
    const stale = new Set(
      this.known()
        .filter((e) => e.marker === undefined && samePool(e) && ((entryMatches(e, where) && this.isSelf(e, target)) || e.identity.name === target.name))
        .map((e) => e.line),
    );
    const kept = this.lines().filter((_, i) => !stale.has(i + 1));
    const identity = { name: target.name, instanceId: target.instanceId, pool: target.pool };
    this.write([...kept, ...keys.map(({ keyType, key }) => knownHostsLine(target.address, target.port, keyType, key, identity))]);
    return stale.size;
  }

  /** Appends keys recorded on first use (`hosts trust`), one OpenSSH line each, with the host's identity. */
  record(lines: ReadonlyArray<{ target: HostKeyTarget; keyType: string; key: Buffer }>): void {
    if (lines.length === 0) return;
    const added = lines.map(({ target, keyType, key }) => knownHostsLine(target.address, target.port, keyType, key, { name: target.name, instanceId: target.instanceId, pool: target.pool }));
    this.write([...this.lines(), ...added]);
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
        remedy: `if the host was rebuilt, verify the new fingerprint, remove the old key (\`ssh-keygen -R ${knownHostsName(target.address, target.port)} -f ${knownHostsFile}\`) and run \`pool-ops hosts trust --hosts ${target.name}\``,
      };
    case "mismatch":
      return {
        message: `HOST IDENTITY MISMATCH for ${where}: ${verdict.reason}. Nothing was sent to it`,
        remedy: `check the inventory (Terraform outputs, EC2 tags) against the instance; if ${target.name} really was replaced or moved, remove its old line from ${knownHostsFile} and run \`pool-ops hosts trust --hosts ${target.name}\` (which checks the key against the instance's console output)`,
      };
    case "revoked":
      return { message: `revoked host key for ${where}: ${verdict.fingerprint}`, remedy: "the key is marked @revoked in known_hosts; rebuild the host's keys" };
    default:
      return { message: `host key for ${where} accepted`, remedy: "" };
  }
}
