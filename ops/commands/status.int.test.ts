/**
 * `pool-ops status` on the lab, as an operator types it: every node with the leader forging and KES days left, running
 * the release's config plus the pool's overlay with genesis files whose hashes match, exit 0; with one relay's node
 * stopped, that relay shows down and the exit is non-zero.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab } from "../../lab/harness";
import { provisionLabPool, type ProvisionedPool } from "../../lab/pool-provision";
import type { NodeStatus } from "./status";

describe.skipIf(LAB_SKIP)(`status on the lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab();
  let pool: ProvisionedPool;
  beforeAll(async () => {
    pool = await provisionLabPool(lab());
  }, 90_000);
  afterAll(async () => {
    await pool?.fleet.close();
  });

  it("shows every host, the leader forging and KES days left, and exits 0 on a healthy pool", async () => {
    const r = await runPoolOps(lab(), ["status", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const view = r.json<{ nodes: NodeStatus[]; others: NodeStatus[]; problems: string[] }>();
    expect(view.nodes.map((n) => n.host)).toEqual(["relay-1", "relay-2", "relay-3", "relay-4", "producer-1", "producer-2"]);
    expect(view.others.map((n) => [n.host, n.reachable])).toEqual([["bastion", true]]);
    const leader = view.nodes.find((n) => n.host === "producer-1")!;
    expect(leader.forging).toBe(1);
    expect(leader.kes?.remainingPeriods).toBe(62);
    expect(leader.kes?.daysLeft).toBeGreaterThan(90);
    expect(view.nodes.find((n) => n.host === "producer-2")!.forging).toBe(0);
    expect(view.problems).toEqual([]);
    // Every node runs the installed release's config plus the overlay (read on the host, composed by pool-ops) and the
    // genesis files it names hash to the pool's network data.
    for (const n of view.nodes) {
      expect(n.nodeVersion, n.host).toBe(pool.config.node.version);
      expect(n.nodeFiles, n.host).toEqual({ configMatches: true, differingKeys: [], restartPending: false, genesisMatches: true });
    }
    const text = await runPoolOps(lab(), ["status"]);
    for (const n of view.nodes) expect(text.stdout).toMatch(new RegExp(`^${n.host}\\s.*\\srelease\\+overlay\\s+match$`, "m"));
    // Lag is measured against the highest tip seen; hosts are sampled one after another, so a slot may pass between them.
    expect(text.stdout).toMatch(/producer-1\s+producer\s+yes\s+\d+\s+[01]\s+4\s+FORGING\s+9\d(\.\d)? d \(62 periods\)/);
    expect(text.stdout).toContain("no problems");
  });

  it("shows a stopped relay down and exits non-zero", async () => {
    const stop = await pool.fleet.connection("relay-2").run(pool.config.node.service.stop);
    expect(stop.exitCode).toBe(0);
    try {
      const r = await runPoolOps(lab(), ["status"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/relay-2\s+relay\s+NODE DOWN/);
      expect(r.stdout).toMatch(/⚠ relay-2: node down: no metrics/);
    } finally {
      await pool.fleet.connection("relay-2").run(pool.config.node.service.start);
    }
  });
});
