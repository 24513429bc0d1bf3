/**
 * Hosts bound to their identity, on the lab: `hosts trust` records name, instance id and pool with each key (and says
 * when EC2 could not confirm it); an inventory that points producer-1 at a relay's address, or pins a key that
 * disagrees with known_hosts, is refused with a clear message — directly and through the agent — and the host at that
 * address receives nothing.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab } from "../../lab/harness";
import { labHost } from "../../lab/lab";
import { hostPath } from "../../lab/lab-hosts";
import { compareWithConsole } from "../aws/console-key-check";
import { fingerprintOf } from "../remote/known-hosts";

interface JsonGroup {
  ok: boolean;
  results: Array<{ host: string; status: string; detail?: Record<string, unknown>; error?: { step: string; message: string } }>;
}

describe("hosts trust: keys checked against the EC2 console output", () => {
  const key = randomBytes(51);
  const block = (keys: Buffer[]) => ["-----BEGIN SSH HOST KEY KEYS-----", ...keys.map((k) => `ssh-ed25519 ${k.toString("base64")} root@ip`), "-----END SSH HOST KEY KEYS-----"].join("\n");
  const ed = (body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-ed25519"), body]);
  it("confirmed when the offered key is in cloud-init's block, contradicted when the block lists others, unavailable without one", () => {
    expect(compareWithConsole(ed(key), block([ed(key)]), "i-1").kind).toBe("confirmed");
    const other = ed(randomBytes(51));
    expect(compareWithConsole(ed(key), block([other]), "i-1")).toEqual({ kind: "contradicted", shown: [`ssh-ed25519 ${fingerprintOf(other)}`] });
    expect(compareWithConsole(ed(key), "Linux version 6.1", "i-1")).toEqual({ kind: "unavailable", reason: "the console output of i-1 shows no host key block" });
  });
});

describe.skipIf(LAB_SKIP)(`hosts bound to their identity, on the lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab({ relays: 2 });
  const dir = mkdtempSync(join(tmpdir(), "pool-ops-hosts-"));
  const env = { POOL_OPS_STATE_DIR: join(dir, "state") };
  afterAll(async () => {
    if (!LAB_SKIP) await runPoolOps(lab(), ["agent", "stop"], { env });
    rmSync(dir, { recursive: true, force: true });
  });
  /** A copy of the lab's inventory changed by `edit` (what altered Terraform outputs or EC2 tags would give). */
  const alteredInventory = (name: string, edit: (value: { hosts: Array<{ name: string; privateIp: string }>; hostKeys?: Record<string, string> }) => void) => {
    const document = JSON.parse(readFileSync(lab().files.inventory, "utf8")) as { inventory: { value: { hosts: Array<{ name: string; privateIp: string }>; hostKeys?: Record<string, string> } } };
    edit(document.inventory.value);
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(document));
    return path;
  };
  beforeAll(async () => {
    // Where the test puts its stand-in for a hot key on the nodes: a directory of its own.
    if (!LAB_SKIP) await runPoolOps(lab(), ["--no-agent", "run", "--role", "relay,producer", "--", "install -d /opt/cardano/lab"], { env });
  });
  const payload = join(dir, "hot-key.skey");
  writeFileSync(payload, `${randomBytes(32).toString("hex")}\n`);
  const sha = createHash("sha256").update(readFileSync(payload)).digest("hex");
  /** What each host has at the put's path (sha256, or "absent"), read with the lab's own, untouched inventory. */
  const received = async () => {
    const r = await runPoolOps(lab(), ["--no-agent", "--json", "run", "--role", "relay,producer", "--", "sha256sum /opt/cardano/lab/hot-key.skey 2>/dev/null | cut -d ' ' -f 1 || true"], { env });
    expect(r.code, r.stderr).toBe(0);
    return Object.fromEntries(r.json<JsonGroup>().results.map((x) => [x.host, (x as unknown as { stdout: string }).stdout.trim() || "absent"]));
  };

  it("hosts trust records each key with the host's name, instance id and pool, and says it could not confirm through EC2", async () => {
    const knownHosts = join(dir, "known_hosts");
    writeFileSync(knownHosts, "");
    // An emulator endpoint nothing listens on: EC2 cannot be asked, at once.
    const trust = await runPoolOps(lab(), ["--known-hosts", knownHosts, "--aws-endpoint", "http://127.0.0.1:9", "--json", "hosts", "trust"], { env });
    expect(trust.code, trust.stderr).toBe(0);
    const results = trust.json<JsonGroup>().results;
    const names = ["bastion", ...(JSON.parse(readFileSync(lab().files.inventory, "utf8")) as { inventory: { value: { hosts: { name: string }[] } } }).inventory.value.hosts.map((h) => h.name)];
    expect(results.map((r) => [r.host, r.status, r.detail?.console])).toEqual(names.map((h) => [h, "changed", "unavailable"]));
    const lines = readFileSync(knownHosts, "utf8").trim().split("\n");
    expect(lines).toHaveLength(names.length);
    for (const name of ["bastion", "relay-1", "producer-2"]) {
      const host = labHost(lab(), name);
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${host.address.replace(/\./g, "\\.")} ssh-ed25519 \\S+ ${name} ${host.instanceId} pool=sandstone$`)));
    }
    const human = await runPoolOps(lab(), ["--known-hosts", join(dir, "known_hosts_2"), "--aws-endpoint", "http://127.0.0.1:9", "hosts", "trust", "--role", "bastion"], { env });
    expect(human.stdout).toMatch(/NOT confirmed through EC2 \(EC2 GetConsoleOutput for i-\S+ failed/);
    expect(human.stderr).toMatch(/not confirmed through EC2 \(compare the fingerprints with each instance's console output yourself\): bastion/);
    const ping = await runPoolOps(lab(), ["--known-hosts", knownHosts, "--no-agent", "ping"], { env });
    expect(ping.code, ping.stderr).toBe(0);
  });

  it("an inventory pointing producer-1 at relay-1's address is refused with a clear message; relay-1 receives nothing", async () => {
    const relay1 = labHost(lab(), "relay-1");
    const evil = alteredInventory("producer-at-relay.json", (v) => {
      v.hosts.find((h) => h.name === "producer-1")!.privateIp = relay1.privateIp;
    });
    const put = await runPoolOps(lab(), ["--no-agent", "--inventory", evil, "--yes", "--json", "--hosts", "producer-1", "put", payload, "/opt/cardano/lab/hot-key.skey"], { env });
    expect(put.code).toBe(1);
    const result = put.json<JsonGroup>().results[0]!;
    expect(result.status).toBe("unreachable");
    expect(result.error?.message).toMatch(new RegExp(`HOST IDENTITY MISMATCH for producer-1 \\(${relay1.privateIp.replace(/\./g, "\\.")}\\): .* records this key for relay-1, but the inventory says producer-1 .*Nothing was sent to it`));
    // hosts trust does not "fix" it either.
    const trust = await runPoolOps(lab(), ["--no-agent", "--inventory", evil, "--aws-endpoint", "http://127.0.0.1:9", "--json", "hosts", "trust", "--hosts", "producer-1"], { env });
    expect(trust.code).toBe(1);
    expect(trust.json<JsonGroup>().results.find((r) => r.host === "producer-1")?.error?.message).toMatch(/HOST IDENTITY MISMATCH/);
    expect(await received()).toEqual({ "relay-1": "absent", "relay-2": "absent", "producer-1": "absent", "producer-2": "absent" });
  });

  it("the same through the agent: the agent verifies against its own known_hosts and refuses", async () => {
    expect((await runPoolOps(lab(), ["agent", "start", "--no-connect"], { env })).code).toBe(0);
    const evil = alteredInventory("producer-at-relay-2.json", (v) => {
      v.hosts.find((h) => h.name === "producer-2")!.privateIp = labHost(lab(), "relay-2").privateIp;
    });
    const put = await runPoolOps(lab(), ["--inventory", evil, "--yes", "--json", "--hosts", "producer-2", "put", payload, "/opt/cardano/lab/hot-key.skey"], { env });
    expect(put.code).toBe(1);
    expect(put.json<JsonGroup>().results[0]?.error?.message).toMatch(/HOST IDENTITY MISMATCH for producer-2 .* records this key for relay-2/);
    expect((await received())["relay-2"]).toBe("absent");
  });

  it("a pin in the inventory that disagrees with known_hosts is refused (it never overrides it); the host receives nothing", async () => {
    const relay2Key = readFileSync(hostPath(lab(), "relay-2", "/etc/ssh/ssh_host_ed25519_key.pub"), "utf8").split(" ")[1]!;
    const pinned = alteredInventory("pinned.json", (v) => {
      v.hostKeys = { "producer-1": fingerprintOf(Buffer.from(relay2Key, "base64")) };
    });
    for (const agent of [[], ["--no-agent"]]) {
      const put = await runPoolOps(lab(), [...agent, "--inventory", pinned, "--yes", "--json", "--hosts", "producer-1", "put", payload, "/opt/cardano/lab/hot-key.skey"], { env });
      expect(put.code).toBe(1);
      expect(put.json<JsonGroup>().results[0]?.error?.message).toMatch(/HOST IDENTITY MISMATCH for producer-1 .*the inventory pins SHA256:\S+ for producer-1, but .* records SHA256:/);
    }
    expect((await received())["producer-1"]).toBe("absent");
    // The honest inventory still reaches it.
    const put = await runPoolOps(lab(), ["--yes", "--hosts", "producer-1", "put", payload, "/opt/cardano/lab/hot-key.skey"], { env });
    expect(put.code, put.stderr).toBe(0);
    expect((await received())["producer-1"]).toBe(sha);
  });
});
