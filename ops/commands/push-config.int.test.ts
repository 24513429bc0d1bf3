/**
 * `pool-ops push-config` on the lab (SSM leader record on the emulator), run as an operator types it: a first push
 * writes every node's files, a second touches nothing, an address change shows in exactly the right diffs, an
 * unhealthy relay stops the roll with its files restored, and bad values are refused before any host is touched.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { hostLayout } from "../../config/host-layout";
import { LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab } from "../../lab/harness";
import { faultFile, hostPath } from "../../lab/lab-hosts";
import { provisionLabPool, type ProvisionedPool } from "../../lab/pool-provision";
import { metricValue, readNodeMetrics } from "../pool/node-metrics";
import { releaseNetworkDir } from "../pool/release-facts";

const skip = LAB_SKIP;
const NODES = ["relay-1", "relay-2", "relay-3", "relay-4", "producer-1", "producer-2"];

// A push rolls over six nodes, each restarted and health-gated in turn (the pushes' own bound: PUSH_DEADLINE_MS).
const PUSH_DEADLINE_MS = 120_000;

describe.skipIf(skip)(`push-config on the lab${LAB_SKIP_NOTE}`, { timeout: PUSH_DEADLINE_MS + 10_000 }, () => {
  const lab = useLab();
  let pool: ProvisionedPool;
  let baseConfig: string;

  beforeAll(async () => {
    pool = await provisionLabPool(lab());
    baseConfig = `${readFileSync(lab().files.poolConfig, "utf8")}pushConfig:\n  healthTimeoutSeconds: 4\n`;
    writeFileSync(lab().files.poolConfig, baseConfig);
  }, 120_000);
  afterAll(async () => {
    await pool?.fleet.close();
  });

  const push = (args: string[] = []) => runPoolOps(lab(), ["push-config", "--yes", "--aws-endpoint", lab().awsEndpoint, ...args], { timeoutMs: PUSH_DEADLINE_MS });
  const layoutOf = () => hostLayout(pool.config);
  const mtimes = () => Object.fromEntries(NODES.map((h) => [h, [layoutOf().topology, layoutOf().nodeConfig, layoutOf().environmentFile].map((p) => statSync(hostPath(lab(), h, p)).mtimeMs)]));
  async function nodeFacts(host: string) {
    const m = await readNodeMetrics(pool.fleet.connection(host), layoutOf().nodeConfig, 12798);
    return { reloads: m && metricValue(m, "cardano_node_lab_reloads_counter"), started: m && metricValue(m, "nodeStartTime"), forging: m && metricValue(m, "forging_enabled") };
  }

  it("a push writes every node's missing files in rolling order and leaves the leader forging", async () => {
    // Provisioning wrote what push-config renders: take a file away from every host so the push has work.
    for (const host of NODES) rmSync(hostPath(lab(), host, layoutOf().topology));
    const r = await push();
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const host of NODES) {
      const topology = JSON.parse(readFileSync(hostPath(lab(), host, layoutOf().topology), "utf8"));
      expect(topology.localRoots.length, host).toBeGreaterThan(0);
      expect(readFileSync(hostPath(lab(), host, layoutOf().unitFile), "utf8")).toContain("EnvironmentFile=/opt/cardano/config/cardano-node.env");
    }
    expect(r.stdout.indexOf("relay-4: written")).toBeLessThan(r.stdout.indexOf("producer-2: written"));
    expect(r.stdout.indexOf("producer-2: written")).toBeLessThan(r.stdout.indexOf("producer-1: written"));
    expect((await nodeFacts("producer-1")).forging).toBe(1);
    expect((await nodeFacts("producer-2")).forging).toBe(0);
  });

  it("a second push reports no changes and touches no host", async () => {
    const before = mtimes();
    const facts = await Promise.all(NODES.map(nodeFacts));
    const r = await push();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("every host already has its files: nothing to do");
    expect(mtimes()).toEqual(before);
    expect(await Promise.all(NODES.map(nodeFacts))).toEqual(facts);
  });

  it("changing one relay's address changes exactly the topologies that list it, shown before anything is written", async () => {
    writeFileSync(lab().files.poolConfig, `${baseConfig}topology:\n  addresses:\n    relay-3: relay3.example.org\n`);
    const before = mtimes();
    const r = await runPoolOps(lab(), ["push-config", "--dry-run", "--json", "--aws-endpoint", lab().awsEndpoint]);
    expect(r.code, r.stderr).toBe(0);
    const plan = r.json<{ hosts: { host: string; changed: { path: string; diff: string }[] }[] }>();
    const changed = plan.hosts.filter((h) => h.changed.length > 0);
    expect(changed.map((h) => h.host)).toEqual(["relay-1", "relay-2", "relay-4", "producer-1", "producer-2"]);
    for (const h of changed) {
      // The topology, and the overlay every boot composes it from.
      expect(h.changed.map((c) => c.path)).toEqual([layoutOf().topology, `${layoutOf().bootDir}/topology.overlay.json`]);
      expect(h.changed[0]!.diff).toMatch(/\+\s+"address": "relay3.example.org"/);
    }
    expect(mtimes()).toEqual(before);
  });

  it("a relay failing its health check stops the roll there, gets its files back, and the rest stay untouched", async () => {
    const extras = mkdtempSync(join(tmpdir(), "push-extras-"));
    mkdirSync(join(extras, "host", "relay-2", "opt", "cardano", "lab"), { recursive: true });
    writeFileSync(join(extras, "host", "relay-2", "opt", "cardano", "lab", "slot-lag"), "5000\n");
    writeFileSync(lab().files.poolConfig, `${baseConfig.replace("pushConfig:\n", `pushConfig:\n  extraFilesDir: ${extras}\n`)}topology:\n  addresses:\n    relay-3: relay3.example.org\n`);
    const before = mtimes();
    const topologyBefore = readFileSync(hostPath(lab(), "relay-2", layoutOf().topology), "utf8");
    const r = await push();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/relay-1: written, reloaded, healthy/);
    expect(r.stdout).toMatch(/relay-2: FAILED: unhealthy after reload: not synced: \d+ slots behind/);
    expect(r.stderr).toMatch(/the roll stopped after relay-2; not touched: relay-4, producer-1, producer-2/);
    // relay-2: its topology is the old one again and the injected file is gone.
    expect(readFileSync(hostPath(lab(), "relay-2", layoutOf().topology), "utf8")).toBe(topologyBefore);
    expect(() => statSync(faultFile(lab(), "relay-2", "slot-lag"))).toThrow();
    const after = mtimes();
    for (const host of ["relay-4", "producer-1", "producer-2"]) expect(after[host], host).toEqual(before[host]);
    expect(after["relay-1"]).not.toEqual(before["relay-1"]);
  }, 60_000);

  it("bad values are refused before any host is touched", async () => {
    const before = mtimes();
    writeFileSync(lab().files.poolConfig, `${baseConfig}topology:\n  addresses:\n    relay-9: 10.9.9.9\n`);
    const unknown = await push();
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/topology.addresses.relay-9: no such host in the inventory/);
    expect(unknown.stderr).toMatch(/nothing was written to any host/);
    const doc = parseYaml(baseConfig) as { relays: Record<string, unknown> };
    doc.relays.port = "30x1";
    writeFileSync(lab().files.poolConfig, stringifyYaml(doc));
    const port = await push();
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/relays.port: expected an integer/);
    expect(mtimes()).toEqual(before);
    writeFileSync(lab().files.poolConfig, baseConfig);
  });

  it("a host whose installed release lacks its node files, or whose genesis is not the pool's, is refused before any host is touched", async () => {
    writeFileSync(lab().files.poolConfig, `${baseConfig}topology:\n  addresses:\n    relay-3: relay3b.example.org\n`);
    const before = mtimes();
    const relay3 = pool.fleet.connection("relay-3");
    const share = releaseNetworkDir(pool.config);
    await relay3.runChecked(`mv ${share}/conway-genesis.json ${share}/conway-genesis.json.away`);
    try {
      const r = await push();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/relay-3: the installed release cannot run this pool .*lacks conway-genesis\.json/);
      expect(r.stderr).toMatch(/refused, nothing was written to any host/);
      expect(mtimes()).toEqual(before);
    } finally {
      await relay3.runChecked(`mv ${share}/conway-genesis.json.away ${share}/conway-genesis.json`);
    }
    await relay3.runChecked(`cp -p ${share}/shelley-genesis.json /tmp/shelley.keep && echo '{}' > ${share}/shelley-genesis.json`);
    try {
      const r = await push();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/relay-3: .*its Shelley genesis file hashes to [0-9a-f]{64}, expected/);
      expect(mtimes()).toEqual(before);
    } finally {
      await relay3.runChecked(`cp -p /tmp/shelley.keep ${share}/shelley-genesis.json`);
      writeFileSync(lab().files.poolConfig, baseConfig);
    }
  });
});
