import { execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeRefusal, fingerprintOf, HostKeyPolicy, keyTypeOf, knownHostsName, parseKnownHosts } from "./host-keys";

const dir = mkdtempSync(join(tmpdir(), "host-keys-"));
function keygen(name: string): { blob: Buffer; line: string; fingerprint: string } {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path]);
  const line = readFileSync(`${path}.pub`, "utf8").trim();
  const fingerprint = execFileSync("ssh-keygen", ["-lf", `${path}.pub`], { encoding: "utf8" }).split(" ")[1]!;
  return { blob: Buffer.from(line.split(" ")[1]!, "base64"), line, fingerprint };
}
const a = keygen("a");
const b = keygen("b");
const relay = { name: "relay-1", address: "10.40.0.10", port: 22 };

function policyWith(text: string, extra: Partial<ConstructorParameters<typeof HostKeyPolicy>[0]> = {}) {
  const file = join(dir, `kh-${randomBytes(4).toString("hex")}`);
  writeFileSync(file, text);
  return new HostKeyPolicy({ knownHostsFile: file, ...extra });
}

describe("host keys", () => {
  it("fingerprints exactly as ssh-keygen -lf prints them", () => {
    expect(fingerprintOf(a.blob)).toBe(a.fingerprint);
    expect(keyTypeOf(a.blob)).toBe("ssh-ed25519");
  });

  it("names non-22 ports the OpenSSH way", () => {
    expect(knownHostsName("10.0.0.1", 22)).toBe("10.0.0.1");
    expect(knownHostsName("10.0.0.1", 2222)).toBe("[10.0.0.1]:2222");
  });

  it("trusts a key listed for the address, refuses another key as changed, and the host recorded at another address or port", () => {
    const policy = policyWith(`# comment\n10.40.0.10 ${a.line.split(" ").slice(0, 2).join(" ")} relay-1\n`);
    expect(policy.decide(relay, a.blob).kind).toBe("trusted");
    const changed = policy.decide(relay, b.blob);
    expect(changed).toMatchObject({ kind: "changed", fingerprint: b.fingerprint });
    expect((changed as { expected: string }).expected).toContain(a.fingerprint);
    // relay-1 is recorded at 10.40.0.10: an inventory giving another address (or port) for it is refused, not "unknown".
    expect(policy.decide({ ...relay, address: "10.40.0.11" }, a.blob).kind).toBe("mismatch");
    expect(policy.decide({ ...relay, port: 2222 }, a.blob).kind).toBe("mismatch");
    expect(policy.decide({ ...relay, name: "relay-2", address: "10.40.0.11" }, b.blob).kind).toBe("unknown");
  });

  it("binds the check to the address, not the name: a key listed only for another address is unknown", () => {
    const policy = policyWith(`10.40.0.99 ${a.line}\n`);
    expect(policy.decide(relay, a.blob).kind).toBe("unknown");
  });

  it("reads hashed names, [host]:port, wildcards, negations and @revoked", () => {
    const salt = randomBytes(20);
    const hash = createHmac("sha1", salt).update("10.40.0.10").digest("base64");
    const [type, key] = a.line.split(" ");
    expect(policyWith(`|1|${salt.toString("base64")}|${hash} ${type} ${key}\n`).decide(relay, a.blob).kind).toBe("trusted");
    expect(policyWith(`[10.40.0.10]:2222 ${type} ${key}\n`).decide({ ...relay, port: 2222 }, a.blob).kind).toBe("trusted");
    expect(policyWith(`10.40.0.*,!10.40.0.10 ${type} ${key}\n`).decide(relay, a.blob).kind).toBe("unknown");
    expect(policyWith(`10.40.0.* ${type} ${key}\n`).decide(relay, a.blob).kind).toBe("trusted");
    expect(policyWith(`10.40.0.10 ${type} ${key}\n@revoked * ${type} ${key}\n`).decide(relay, a.blob).kind).toBe("revoked");
    expect(parseKnownHosts("garbage\n\n@bogus x y z\n")).toEqual([]);
  });

  it("pins never override known_hosts: a pin that disagrees with the recorded key refuses the host, a pin alone trusts nothing", () => {
    const known = `10.40.0.10 ${a.line.split(" ").slice(0, 2).join(" ")} relay-1\n`;
    const policy = policyWith(known, { pinned: { "relay-1": b.fingerprint } });
    // Before: the pin won, and the pinned (attacker's) key b was trusted although known_hosts records a.
    expect(policy.decide(relay, b.blob).kind).not.toBe("trusted");
    const refused = policy.decide(relay, a.blob);
    expect(refused).toMatchObject({ kind: "mismatch", reason: expect.stringContaining(`the inventory pins ${b.fingerprint} for relay-1`) });
    expect(policyWith(known, { pinned: { "relay-1": a.fingerprint } }).decide(relay, a.blob).kind).toBe("trusted");
    expect(policyWith("", { pinned: { "relay-1": b.fingerprint } }).decide(relay, b.blob).kind).toBe("unknown");
    expect(policyWith("", { pinned: { "relay-1": b.fingerprint } }).decide(relay, a.blob).kind).toBe("mismatch");
  });

  it("binds a key to the host it was recorded for: an inventory pointing producer-1 at relay-1's address is refused", () => {
    const file = [`10.40.0.10 ${a.line.split(" ").slice(0, 2).join(" ")} relay-1 i-0aaaaaaaaaaaaaaaa pool=sandstone`, `10.40.0.20 ${b.line.split(" ").slice(0, 2).join(" ")} producer-1 i-0bbbbbbbbbbbbbbbb pool=sandstone`, ""].join("\n");
    const policy = policyWith(file);
    const producerAtRelay = { name: "producer-1", address: "10.40.0.10", port: 22, instanceId: "i-0bbbbbbbbbbbbbbbb", pool: "sandstone" };
    const verdict = policy.decide(producerAtRelay, a.blob);
    expect(verdict).toMatchObject({ kind: "mismatch", reason: expect.stringMatching(/records this key for relay-1 \(i-0aaaaaaaaaaaaaaaa\), but the inventory says producer-1/) });
    expect(policy.check(producerAtRelay).hostVerifier(a.blob)).toBe(false);
    // The same host at its recorded address, with its instance id, is trusted; at any other address it is not.
    expect(policy.decide({ ...producerAtRelay, address: "10.40.0.20" }, b.blob).kind).toBe("trusted");
    expect(policy.decide({ ...producerAtRelay, address: "10.40.0.99" }, b.blob)).toMatchObject({ kind: "mismatch", reason: expect.stringContaining("records producer-1 at 10.40.0.20") });
    // Another instance under the recorded name and address: replaced, or a wrong inventory.
    expect(policy.decide({ ...producerAtRelay, address: "10.40.0.20", instanceId: "i-0cccccccccccccccc" }, b.blob)).toMatchObject({ kind: "mismatch", reason: expect.stringContaining("as instance i-0bbbbbbbbbbbbbbbb, but the inventory says i-0cccccccccccccccc") });
    expect(describeRefusal(producerAtRelay, verdict, "/k").message).toMatch(/^HOST IDENTITY MISMATCH for producer-1 \(10\.40\.0\.10\): .*Nothing was sent to it$/);
  });

  it("another pool's lines never vouch for this pool's hosts (one known_hosts, pools with the same private addresses)", () => {
    const policy = policyWith(`10.40.0.10 ${a.line.split(" ").slice(0, 2).join(" ")} relay-1 pool=otherpool\n`);
    expect(policy.decide({ ...relay, pool: "sandstone" }, a.blob).kind).toBe("unknown");
    expect(policy.decide({ ...relay, pool: "otherpool" }, a.blob).kind).toBe("trusted");
  });

  it("refuses a known_hosts file other users can write", () => {
    const policy = policyWith(`10.40.0.10 ${a.line}\n`);
    chmodSync(policy.options.knownHostsFile, 0o666);
    expect(() => policy.check(relay)).toThrow(/writable by other users \(mode 666\)/);
  });

  it("trust on first use records unknown keys but still refuses changed ones, and the recorded line is OpenSSH's", () => {
    const policy = policyWith(`10.40.0.10 ${a.line}\n`, { trustOnFirstUse: true });
    expect(policy.decide(relay, b.blob).kind).toBe("changed");
    const other = { name: "relay-2", address: "10.40.0.11", port: 22 };
    const verdict = policy.decide(other, b.blob);
    expect(verdict.kind).toBe("recorded");
    policy.record([{ target: other, keyType: "ssh-ed25519", key: b.blob }]);
    const file = policy.options.knownHostsFile;
    expect(readFileSync(file, "utf8")).toContain(`10.40.0.11 ${b.line.split(" ").slice(0, 2).join(" ")} relay-2\n`);
    policy.record([{ target: { ...other, name: "relay-3", address: "10.40.0.12", instanceId: "i-0123456789abcdef0", pool: "sandstone" }, keyType: "ssh-ed25519", key: b.blob }]);
    expect(readFileSync(file, "utf8")).toContain(`10.40.0.12 ${b.line.split(" ").slice(0, 2).join(" ")} relay-3 i-0123456789abcdef0 pool=sandstone\n`);
    expect(new HostKeyPolicy({ knownHostsFile: file }).decide(other, b.blob).kind).toBe("trusted");
    // ssh-keygen accepts the file we wrote.
    expect(execFileSync("ssh-keygen", ["-F", "10.40.0.11", "-f", file], { encoding: "utf8" })).toContain("relay-2");
  });

  it("offers only the key types known for the host", () => {
    const policy = policyWith(`10.40.0.10 ${a.line}\n`);
    expect(policy.check(relay).hostKeyTypes).toEqual(["ssh-ed25519"]);
    expect(policy.check({ ...relay, address: "10.9.9.9" }).hostKeyTypes).toEqual([]);
  });

  it("refusal messages name host, offered fingerprint and the remedy", () => {
    const { message, remedy } = describeRefusal(relay, { kind: "unknown", fingerprint: a.fingerprint, keyType: "ssh-ed25519" }, "/k");
    expect(message).toContain(`relay-1 (10.40.0.10): offered ssh-ed25519 ${a.fingerprint}`);
    expect(remedy).toContain("pool-ops hosts trust --hosts relay-1");
  });

  it("replace: a rebuilt host's plain entries give way to its new keys; other hosts and revoked lines stay", () => {
    const other = "10.40.0.11 ssh-ed25519 " + a.line.split(" ")[1] + " relay-2";
    const revoked = "@revoked 10.40.0.10 ssh-ed25519 " + b.line.split(" ")[1];
    const policy = policyWith([`10.40.0.10 ${a.line.split(" ").slice(0, 2).join(" ")} relay-1`, other, revoked, ""].join("\n"));
    expect(policy.decide(relay, a.blob).kind).toBe("trusted");
    const c = keygen("c");
    expect(policy.replace(relay, [{ keyType: "ssh-ed25519", key: c.blob }])).toBe(1);
    expect(policy.decide(relay, c.blob).kind).toBe("trusted");
    // The old key is now recorded only for relay-2: offered by "relay-1" it is another host's.
    expect(policy.decide(relay, a.blob).kind).toBe("mismatch");
    const text = readFileSync(policy.options.knownHostsFile, "utf8");
    expect(text).toContain(other);
    expect(text).toContain(revoked);
  });

  it("replace keeps another pool's line for the same address or name", () => {
    const mine = `10.40.0.10 ${a.line.split(" ").slice(0, 2).join(" ")} relay-1 pool=sandstone`;
    const theirs = `10.40.0.10 ${b.line.split(" ").slice(0, 2).join(" ")} relay-1 pool=otherpool`;
    const policy = policyWith(`${mine}\n${theirs}\n`);
    const c = keygen("c2");
    expect(policy.replace({ ...relay, pool: "sandstone", instanceId: "i-0123456789abcdef0" }, [{ keyType: "ssh-ed25519", key: c.blob }])).toBe(1);
    const text = readFileSync(policy.options.knownHostsFile, "utf8");
    expect(text).toContain(theirs);
    expect(text).not.toContain(mine);
    expect(text).toContain(`relay-1 i-0123456789abcdef0 pool=sandstone`);
    expect(policy.decide({ ...relay, pool: "otherpool" }, b.blob).kind).toBe("trusted");
  });
});
