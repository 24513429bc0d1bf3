import { describe, expect, test } from "vitest";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { poolAddressPlan } from "../config/address-plan";
import { testPool } from "../test/pool-fixtures";
import { renderNodeFiles, renderTopology, validateNodeFiles, type RenderHost } from "./node-files";

const config = testPool();
const hosts: RenderHost[] = poolAddressPlan(config).hosts.filter((h) => h.role === "relay" || h.role === "producer");
const host = (name: string) => hosts.find((h) => h.name === name)!;
type Topology = { localRoots: { accessPoints: { address: string; port: number }[]; trustable: boolean; valency: number }[]; publicRoots: unknown[]; bootstrapPeers?: unknown[]; useLedgerAfterSlot: number };

describe("rendered node files", () => {
  test("a producer lists only its own relays: no public roots, no ledger peers, no bootstrap peers", () => {
    const t = renderTopology(config, hosts, host("producer-1")) as Topology;
    expect(t.localRoots).toHaveLength(1);
    expect(t.localRoots[0]!.accessPoints.map((p) => p.address).sort()).toEqual(hosts.filter((h) => h.role === "relay").map((h) => h.privateIp).sort());
    expect(t.localRoots[0]).toMatchObject({ trustable: true, valency: 4 });
    expect(t).toMatchObject({ publicRoots: [], useLedgerAfterSlot: -1 });
    expect(t.bootstrapPeers).toBeUndefined();
  });

  test("a relay lists both producers (trustable) and the other relays, with valencies counted, and bootstrap peers", () => {
    const t = renderTopology(config, hosts, host("relay-2")) as Topology;
    expect(t.localRoots[0]).toMatchObject({ trustable: true, valency: 2 });
    expect(t.localRoots[0]!.accessPoints.map((p) => p.address)).toEqual([host("producer-1").privateIp, host("producer-2").privateIp]);
    expect(t.localRoots[1]).toMatchObject({ trustable: false, valency: 3 });
    expect(t.localRoots[1]!.accessPoints.map((p) => p.address)).not.toContain(host("relay-2").privateIp);
    expect(t.bootstrapPeers).toEqual([{ address: "preprod-node.play.dev.cardano.org", port: 3001 }]);
  });

  test("the environment file follows the leader record; the unit comes from the repo's template", () => {
    const files = (name: string, leader: string) => new Map(renderNodeFiles(config, hosts, host(name), { leader }).map((f) => [f.path, f]));
    expect(files("producer-2", "producer-1").get("/opt/cardano/config/cardano-node.env")?.content).toMatch(/^NODE_MODE=standby$/m);
    expect(files("producer-2", "producer-1").get("/opt/cardano/config/cardano-node.env")?.content).not.toMatch(/shelley|non-producing/);
    expect(files("producer-2", "producer-2").get("/opt/cardano/config/cardano-node.env")?.content).toMatch(/--shelley-kes-key/);
    const unit = files("relay-1", "producer-1").get("/etc/systemd/system/cardano-node.service")!;
    expect(unit).toMatchObject({ owner: "root", effect: "restart" });
    expect(unit.content).toContain("EnvironmentFile=/opt/cardano/config/cardano-node.env");
    expect(unit.content).not.toMatch(/\{\{/);
    const nodeConfig = JSON.parse(files("relay-1", "producer-1").get("/opt/cardano/config/config.json")!.content);
    expect(nodeConfig.hasPrometheus).toEqual([host("relay-1").privateIp, 12798]);
    expect(nodeConfig.ShelleyGenesisHash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("an address override changes exactly the hosts that list it", () => {
    const moved = testPool({ topology: { addresses: { "relay-3": "relay3.example.org" } } });
    const changed = hosts.filter((h) => {
      const before = JSON.stringify(renderTopology(config, hosts, h));
      const after = JSON.stringify(renderTopology(moved, hosts, h));
      return before !== after;
    });
    expect(changed.map((h) => h.name)).toEqual(["relay-1", "relay-2", "relay-4", "producer-1", "producer-2"]);
  });

  test("bad values are refused with the field named", () => {
    expect(() => renderTopology(testPool({ topology: { addresses: { "relay-9": "10.0.0.9" } } }), hosts, host("relay-1"))).toThrow(/topology.addresses.relay-9: no such host/);
    expect(() => testPool({ relays: { port: "3001x" } })).toThrow(/relays.port/);
    expect(() => renderNodeFiles(config, hosts, host("relay-1"), { leader: "relay-1" })).toThrow(/leader relay-1 is not a producer/);
    const topo = { path: "/opt/cardano/config/topology.json", mode: 0o644, owner: "c", group: "c", effect: "reload" as const };
    expect(() => validateNodeFiles(config, hosts, [{ ...topo, content: '{"localRoots":[{"accessPoints":[{"address":"6.6.6.6","port":3001}]}]}' }])).toThrow(/6.6.6.6 is not a host of this pool/);
    expect(() => validateNodeFiles(config, hosts, [{ ...topo, content: `{"localRoots":[{"accessPoints":[{"address":"${host("relay-1").privateIp}","port":"x"}]}]}` }])).toThrow(/port "x"/);
    expect(() => validateNodeFiles(config, hosts, [{ ...topo, content: "{" }])).toThrow(/not valid JSON/);
  });

  test("extra files per role and per host are rendered, host files winning", () => {
    const dir = mkdtempSync(join(tmpdir(), "extra-"));
    mkdirSync(join(dir, "role/relay/etc/motd.d"), { recursive: true });
    mkdirSync(join(dir, "host/relay-1/etc/motd.d"), { recursive: true });
    writeFileSync(join(dir, "role/relay/etc/motd.d/pool"), "a relay\n");
    writeFileSync(join(dir, "host/relay-1/etc/motd.d/pool"), "relay one\n");
    const withExtras = testPool({ pushConfig: { extraFilesDir: dir } });
    const get = (name: string) => renderNodeFiles(withExtras, hosts, host(name), { leader: "producer-1" }).find((f) => f.path === "/etc/motd.d/pool")?.content;
    expect(get("relay-1")).toBe("relay one\n");
    expect(get("relay-2")).toBe("a relay\n");
    expect(get("producer-1")).toBeUndefined();
  });
});
