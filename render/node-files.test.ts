import { describe, expect, test } from "vitest";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { poolAddressPlan } from "../config/address-plan";
import { hostLayout } from "../config/host-layout";
import { labGenesisHashes } from "../lab/release-fixtures";
import { testPool } from "../test/pool-fixtures";
import { labReleaseFacts } from "../test/release-fixture";
import { renderBootNodeFiles, renderNodeFiles, sameContent, validateNodeFiles, type RenderHost } from "./node-files";
import { checkedRelease } from "./release-files";
import { renderTopology } from "./topology";

const config = testPool({ node: { genesisHashes: labGenesisHashes("preprod") } });
const layout = hostLayout(config);
const release = checkedRelease(config, labReleaseFacts("preprod", config.node.version));
const hosts: RenderHost[] = poolAddressPlan(config).hosts.filter((h) => h.role === "relay" || h.role === "producer");
const host = (name: string) => hosts.find((h) => h.name === name)!;
const files = (name: string, leader = "producer-1", pool = config) => new Map(renderNodeFiles(pool, hosts, host(name), { leader, release }).map((f) => [f.path, f]));
const parsed = (name: string, path: string) => JSON.parse(files(name).get(path)!.content) as Record<string, any>;
type Topology = { localRoots: { accessPoints: { address: string; port: number }[]; trustable: boolean; valency: number }[]; publicRoots: unknown[]; bootstrapPeers?: unknown; useLedgerAfterSlot: number; peerSnapshotFile?: string };

describe("node files: the release's plus the pool's overlay", () => {
  test("config.json is the release's config with the overlay: metrics on the private address, genesis from the release dir", () => {
    const c = parsed("relay-1", layout.nodeConfig);
    expect(c["LastKnownBlockVersion-Major"]).toBe(2);
    expect(c.ShelleyGenesisHash).toBe(release.config.ShelleyGenesisHash);
    expect(c.ShelleyGenesisFile).toBe(`${release.dir}/shelley-genesis.json`);
    expect(c.ConsensusMode).toBe("GenesisMode");
    expect(c.TraceOptions[""].backends).toEqual(["EKGBackend", `PrometheusSimple suffix ${host("relay-1").privateIp} 12798`, "Stdout MachineFormat"]);
    expect(c.TraceOptions[""].severity).toBe("Notice");
    expect(c.LedgerDB).toMatchObject({ Backend: "V2InMemory", NumOfDiskSnapshots: 2 });
    expect(c.PeerSharing).toBeUndefined();
    expect(c.TraceOptionNodeName).toBe("relay-1");
  });

  test("both producers turn peer sharing off (a standby has no credentials, so the node would otherwise share)", () => {
    expect(parsed("producer-1", layout.nodeConfig).PeerSharing).toBe(false);
    expect(JSON.parse(files("producer-2", "producer-1").get(layout.nodeConfig)!.content).PeerSharing).toBe(false);
    // Leading or not, a producer's config is the same: promotion changes its environment file only.
    expect(files("producer-2", "producer-1").get(layout.nodeConfig)!.content).toBe(files("producer-2", "producer-2").get(layout.nodeConfig)!.content);
  });

  test("a config the release ships without a required key is refused, naming the key and the node line", () => {
    const lacking = checkedRelease(config, labReleaseFacts("preprod", config.node.version, { omitConfigKeys: ["LastKnownBlockVersion-Major"] }));
    expect(() => renderNodeFiles(config, hosts, host("relay-1"), { leader: "producer-1", release: lacking })).toThrow(/lacks LastKnownBlockVersion-Major, which cardano-node 11\.1\.x requires/);
    const v110 = testPool({ node: { version: "11.0.1", genesisHashes: labGenesisHashes("preprod") } });
    const noMetrics = checkedRelease(v110, labReleaseFacts("preprod", "11.0.1", { omitConfigKeys: ["TurnOnLogMetrics"] }));
    expect(() => renderNodeFiles(v110, hosts, host("relay-1"), { leader: "producer-1", release: noMetrics })).toThrow(/lacks TurnOnLogMetrics/);
  });

  test("a producer lists only its own relays: no public roots, no ledger peers, no bootstrap peers, no snapshot", () => {
    const t = renderTopology(config, hosts, host("producer-1"), release) as unknown as Topology;
    expect(t.localRoots).toHaveLength(1);
    expect(t.localRoots[0]!.accessPoints.map((p) => p.address).sort()).toEqual(hosts.filter((h) => h.role === "relay").map((h) => h.privateIp).sort());
    expect(t.localRoots[0]).toMatchObject({ trustable: true, valency: 4 });
    expect(t).toMatchObject({ publicRoots: [], useLedgerAfterSlot: -1 });
    expect(t.bootstrapPeers).toBeUndefined();
    expect(t.peerSnapshotFile).toBeUndefined();
  });

  test("a relay lists both producers (trustable) and the other relays, and keeps the release's peers and snapshot", () => {
    const t = renderTopology(config, hosts, host("relay-2"), release) as unknown as Topology;
    expect(t.localRoots[0]).toMatchObject({ trustable: true, valency: 2 });
    expect(t.localRoots[0]!.accessPoints.map((p) => p.address)).toEqual([host("producer-1").privateIp, host("producer-2").privateIp]);
    expect(t.localRoots[1]).toMatchObject({ trustable: false, valency: 3 });
    expect(t.localRoots[1]!.accessPoints.map((p) => p.address)).not.toContain(host("relay-2").privateIp);
    expect(t.bootstrapPeers).toEqual(release.topology.bootstrapPeers);
    expect(t.useLedgerAfterSlot).toBe(release.topology.useLedgerAfterSlot);
    expect(t.peerSnapshotFile).toBe(`${release.dir}/peer-snapshot.json`);
  });

  test("the environment file follows the leader record; the unit comes from the repo's template and guards the volume", () => {
    expect(files("producer-2", "producer-1").get(layout.environmentFile)?.content).toMatch(/^NODE_MODE=standby$/m);
    expect(files("producer-2", "producer-1").get(layout.environmentFile)?.content).not.toMatch(/shelley|non-producing/);
    expect(files("producer-2", "producer-2").get(layout.environmentFile)?.content).toMatch(/--shelley-kes-key/);
    const unit = files("relay-1").get("/etc/systemd/system/cardano-node.service")!;
    expect(unit).toMatchObject({ owner: "root", effect: "restart" });
    expect(unit.content).toContain("EnvironmentFile=/opt/cardano/config/cardano-node.env");
    expect(unit.content).toContain(`RequiresMountsFor=${layout.chainMount}`);
    expect(unit.content).toContain(`AssertPathIsMountPoint=${layout.chainMount}`);
    expect(unit.content).toMatch(/^Requires=pool-node-boot.service$/m);
    expect(unit.content).not.toMatch(/\{\{/);
  });

  test("what the node runs with is root's, readable by its group only (config/host-layout.ts nodeFileModes)", () => {
    for (const path of [layout.nodeConfig, layout.topology, layout.environmentFile]) {
      expect(files("producer-1").get(path), path).toMatchObject({ owner: "root", group: config.node.group, mode: 0o640 });
    }
  });

  test("the boot inputs: overlays and both producer modes' environments, root-owned; push-config keeps them", () => {
    const boot = new Map(renderBootNodeFiles(config, hosts, host("producer-1")).map((f) => [f.path, f]));
    expect([...boot.keys()].sort()).toEqual([`${layout.bootDir}/config.overlay.json`, `${layout.bootDir}/env.leader`, `${layout.bootDir}/env.standby`, `${layout.bootDir}/topology.overlay.json`, layout.unitFile].sort());
    for (const f of boot.values()) expect(f.owner).toBe("root");
    expect(boot.get(`${layout.bootDir}/env.standby`)!.content).not.toMatch(/shelley/);
    expect(renderBootNodeFiles(config, hosts, host("relay-1")).map((f) => f.path)).toContain(`${layout.bootDir}/env.relay`);
    for (const path of boot.keys()) expect(files("producer-1").has(path)).toBe(true);
  });

  test("an address override changes exactly the hosts that list it", () => {
    const moved = testPool({ node: { genesisHashes: labGenesisHashes("preprod") }, topology: { addresses: { "relay-3": "relay3.example.org" } } });
    const changed = hosts.filter((h) => JSON.stringify(renderTopology(config, hosts, h, release)) !== JSON.stringify(renderTopology(moved, hosts, h, release)));
    expect(changed.map((h) => h.name)).toEqual(["relay-1", "relay-2", "relay-4", "producer-1", "producer-2"]);
  });

  test("bad values are refused with the field named", () => {
    expect(() => renderTopology(testPool({ topology: { addresses: { "relay-9": "10.0.0.9" } } }), hosts, host("relay-1"), release)).toThrow(/topology.addresses.relay-9: no such host/);
    expect(() => testPool({ relays: { port: "3001x" } })).toThrow(/relays.port/);
    expect(() => renderNodeFiles(config, hosts, host("relay-1"), { leader: "relay-1", release })).toThrow(/leader relay-1 is not a producer/);
    const topo = { path: layout.topology, mode: 0o644, owner: "c", group: "c", effect: "reload" as const };
    expect(() => validateNodeFiles(config, hosts, [{ ...topo, content: '{"localRoots":[{"accessPoints":[{"address":"6.6.6.6","port":3001}]}]}' }])).toThrow(/6.6.6.6 is not a host of this pool/);
    expect(() => validateNodeFiles(config, hosts, [{ ...topo, content: `{"localRoots":[{"accessPoints":[{"address":"${host("relay-1").privateIp}","port":"x"}]}]}` }])).toThrow(/port "x"/);
    expect(() => validateNodeFiles(config, hosts, [{ ...topo, content: "{" }])).toThrow(/not valid JSON/);
  });

  test("JSON files written by the boot (Python's formatting) are the same file to push-config", () => {
    expect(sameContent("/x/config.json", '{"a": 2.0, "b": [1, 2]}', '{\n  "b": [\n    1,\n    2\n  ],\n  "a": 2\n}\n')).toBe(true);
    expect(sameContent("/x/config.json", '{"a": 1}', '{"a": 2}')).toBe(false);
    expect(sameContent("/x/env", "A=1", "A=1 ")).toBe(false);
  });

  test("extra files per role and per host are rendered, host files winning", () => {
    const dir = mkdtempSync(join(tmpdir(), "extra-"));
    mkdirSync(join(dir, "role/relay/etc/motd.d"), { recursive: true });
    mkdirSync(join(dir, "host/relay-1/etc/motd.d"), { recursive: true });
    writeFileSync(join(dir, "role/relay/etc/motd.d/pool"), "a relay\n");
    writeFileSync(join(dir, "host/relay-1/etc/motd.d/pool"), "relay one\n");
    const withExtras = testPool({ node: { genesisHashes: labGenesisHashes("preprod") }, pushConfig: { extraFilesDir: dir } });
    const get = (name: string) => files(name, "producer-1", withExtras).get("/etc/motd.d/pool")?.content;
    expect(get("relay-1")).toBe("relay one\n");
    expect(files("relay-1", "producer-1", withExtras).get("/etc/motd.d/pool")).toMatchObject({ owner: "root", group: "root", mode: 0o644 });
    expect(get("relay-2")).toBe("a relay\n");
    expect(get("producer-1")).toBeUndefined();
  });
});
