/**
 * The library API on the lab: one bastion connection carrying every node, atomic put (backup, owner/mode, never a
 * partial file), read/get, sudo and the server-side timeout.
 */
import { randomBytes, createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_SKIP, LAB_SKIP_NOTE, labFleet, useLab } from "../../lab/harness";
import type { Fleet } from "./fleet";

describe.skipIf(LAB_SKIP)(`Connection on the lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab();
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await labFleet(lab());
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("reaches every node over one bastion SSH connection", async () => {
    const nodes = fleet.connections().filter((c) => c.name !== "bastion");
    await Promise.all(nodes.map((c) => c.runChecked("true")));
    // In the bastion's network namespace: one inbound SSH connection (ours), six outbound ones (the channels to nodes).
    const inbound = await fleet.bastion.runChecked("ss -Htn state established '( sport = :22 )' | wc -l");
    expect(Number(inbound.stdout.toString().trim())).toBe(1);
    const outbound = await fleet.bastion.runChecked("ss -Htn state established '( dport = :22 )' | wc -l");
    expect(Number(outbound.stdout.toString().trim())).toBe(6);
    const who = await fleet.connection("producer-1").runChecked("hostname; id -un", { sudo: false });
    // EC2 names an instance after its private address (cloud-init sets it from the metadata).
    expect(who.stdout.toString()).toBe(`ip-${fleet.connection("producer-1").target.address.replace(/\./g, "-")}\nadmin\n`);
  });

  it("put is atomic: previous version kept as .bak, owner and mode set, unchanged detected", async () => {
    const relay = fleet.connection("relay-1");
    // A directory of the node's, as the node's config directory was on hosts made before the root-owned layout.
    const path = "/opt/cardano/scratch/topology.json";
    await relay.runChecked("install -d -o cardano -g cardano /opt/cardano/scratch");
    expect(await relay.put(path, '{"v":1}\n', { owner: "cardano", group: "cardano", mode: 0o640 })).toEqual({ changed: true });
    expect(await relay.put(path, '{"v":2}\n', { owner: "cardano", group: "cardano", mode: 0o640 })).toEqual({ changed: true });
    expect(await relay.put(path, '{"v":2}\n', { owner: "cardano", group: "cardano", mode: 0o640 })).toEqual({ changed: false });
    expect(await relay.readText(path)).toBe('{"v":2}\n');
    expect(await relay.readText(`${path}.bak`)).toBe('{"v":1}\n');
    const stat = await relay.runChecked(`stat -c '%U:%G:%a' ${path} ${path}.bak`);
    expect(stat.stdout.toString()).toBe("cardano:cardano:640\ncardano:cardano:640\n");
    const leftovers = await relay.runChecked("ls -A /opt/cardano/scratch");
    expect(leftovers.stdout.toString().split("\n").filter(Boolean).sort()).toEqual(["topology.json", "topology.json.bak"]);
  });

  it("a reader never sees a partial file while large versions replace each other", async () => {
    const relay = fleet.connection("relay-2");
    const path = "/var/tmp/big.bin";
    const versions = [randomBytes(2 << 20), randomBytes(2 << 20), randomBytes(2 << 20)];
    const hashes = versions.map((v) => createHash("sha256").update(v).digest("hex"));
    await relay.put(path, versions[0]!);
    // A reader on the host hashes the file as fast as it can while we replace it.
    const reader = relay.run(`end=$(($(date +%s) + 4)); while [ $(date +%s) -lt $end ]; do sha256sum < ${path} | cut -d ' ' -f 1; done | sort | uniq -c`, { timeoutSeconds: 20 });
    for (let i = 1; i <= 6; i++) await relay.put(path, versions[i % 3]!);
    const seen = (await reader).stdout.toString().trim().split("\n").map((l) => l.trim().split(/\s+/)[1]);
    expect(seen.length).toBeGreaterThan(1); // the reader overlapped the writes: it saw more than one version
    for (const hash of seen) expect(hashes).toContain(hash);
  });

  it("read returns undefined for a missing file; get fails naming host and path", async () => {
    const producer = fleet.connection("producer-1");
    expect(await producer.read("/opt/cardano/no-such-file")).toBeUndefined();
    await expect(producer.get("/opt/cardano/no-such-file")).rejects.toMatchObject({ host: "producer-1", message: expect.stringContaining("/opt/cardano/no-such-file does not exist on producer-1") });
    const bytes = randomBytes(1000);
    await producer.put("/var/tmp/blob", bytes, { mode: "0600" });
    expect((await producer.get("/var/tmp/blob")).equals(bytes)).toBe(true);
  });

  it("each host has its own disk", async () => {
    await fleet.connection("relay-3").put("/var/tmp/whoami", "relay-3\n");
    expect(await fleet.connection("relay-4").read("/var/tmp/whoami")).toBeUndefined();
  });

  it("a command that outlives its server-side bound is stopped and reported as timed out", async () => {
    const relay = fleet.connection("relay-4");
    const started = Date.now();
    const result = await relay.run("sleep 37", { timeoutSeconds: 1 });
    expect(result.exitCode).toBe(124);
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(relay.runChecked("sleep 37", { timeoutSeconds: 1, step: "wait" })).rejects.toMatchObject({ step: "wait", message: expect.stringMatching(/timed out after 1 s/) });
    // Nothing of it is left running on the host.
    const left = await relay.runChecked("pgrep -c -f -x 'sleep 37' || true");
    expect(left.stdout.toString().trim()).toBe("0");
  });
});
