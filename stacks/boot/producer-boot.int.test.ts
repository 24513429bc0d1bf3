/**
 * Every boot of a producer runs the leader guard (stacks/boot/leader-guard.sh) before its node, on booted lab machines
 * rebooted through EC2: the standby rebooted stays a standby; the leader rebooted while Secrets Manager does not
 * answer comes up without its keys, not forging, and `pool-ops status` says why; mended, its next boot leads again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostLayout } from "../../config/host-layout";
import { labFleet, LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab, waitForSsh } from "../../lab/harness";
import { rebootInstance, setEndpointReachable } from "../../lab/lab-hosts";
import { provisionLabPool, type ProvisionedPool } from "../../lab/pool-provision";
import type { NodeStatus } from "../../ops/commands/status";
import { forgingState } from "../../ops/pool/producer-role";

/** A reboot: the machine's shutdown and boot, then the guard (its AWS calls) and the node's start. */
const BOOT_DEADLINE_MS = 150_000;

describe.skipIf(LAB_SKIP)(`producers at every boot${LAB_SKIP_NOTE}`, { timeout: 2 * BOOT_DEADLINE_MS + 60_000 }, () => {
  const lab = useLab({ relays: 2 });
  let pool: ProvisionedPool;
  beforeAll(async () => {
    pool = await provisionLabPool(lab());
  }, 120_000);
  afterAll(async () => {
    await pool?.fleet.close();
  });

  const forging = (host: string) => forgingState(pool.config, pool.fleet.connection(host)).catch(() => undefined);
  /** Reboots a producer through EC2 and waits until its node reports a forging state again (the new boot's node). */
  async function rebootProducer(host: string, settled: (state: number) => boolean): Promise<number | undefined> {
    await rebootInstance(lab(), host, BOOT_DEADLINE_MS);
    await waitForSsh(lab(), host, BOOT_DEADLINE_MS);
    await pool.fleet.close();
    pool = { ...pool, fleet: await labFleet(lab()) };
    const until = Date.now() + BOOT_DEADLINE_MS;
    let state = await forging(host);
    while ((state === undefined || !settled(state)) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 1000));
      state = await forging(host);
    }
    return state;
  }
  const status = async () => {
    const r = await runPoolOps(lab(), ["status", "--json"]);
    return { code: r.code, view: r.json<{ nodes: NodeStatus[]; problems: string[] }>() };
  };

  it("the standby rebooted comes back a standby: not forging, its credentials held aside, the leader forging throughout", async () => {
    const layout = hostLayout(pool.config);
    // Settled means its node runs; a standby must never reach 1, so "any reading" is the wait.
    expect(await rebootProducer("producer-2", () => true)).toBe(0);
    expect(await forging("producer-1")).toBe(1);
    const standby = pool.fleet.connection("producer-2");
    expect(await standby.readText(layout.heldCredentials.opcert), "held aside after the boot").toBeDefined();
    expect(await standby.readText(layout.activeCredentials.kesKey), "no key where a credential flag would look").toBeUndefined();
    // Two relays have fewer peers than the relay alert's minimum: only the producers' problems count here.
    const { view } = await status();
    expect(view.problems.filter((p) => /producer/.test(p))).toEqual([]);
    expect(view.nodes.find((n) => n.host === "producer-2")?.guard).toBe("standing by: /sandstone/leader names producer-1");
  });

  it("the leader rebooted while Secrets Manager does not answer comes up without its keys, not forging, and status says why", async () => {
    const layout = hostLayout(pool.config);
    setEndpointReachable(lab(), "secretsmanager", false);
    try {
      // The guard gives up on the endpoint (its CLI timeouts) and boots the node as a standby.
      expect(await rebootProducer("producer-1", () => true)).toBe(0);
      const leader = pool.fleet.connection("producer-1");
      expect(await leader.readText(layout.activeCredentials.kesKey)).toBeUndefined();
      expect(await leader.readText(layout.activeCredentials.opcert)).toBeUndefined();
      expect(await forging("producer-2")).toBe(0);
      const { code, view } = await status();
      expect(code, "no producer forging is an alert condition").toBe(1);
      expect(view.problems).toContain("no producer is forging");
      expect(view.problems, JSON.stringify(view.problems)).toContain("producer-1: not forging; its leader guard at boot: standing by: this host leads, but its credentials could not be fetched from Secrets Manager; the held credentials could not be refreshed from Secrets Manager (promote checks them)");
    } finally {
      setEndpointReachable(lab(), "secretsmanager", true);
    }
    // The endpoint answers again: the next boot fetches the credentials and leads.
    expect(await rebootProducer("producer-1", (state) => state === 1)).toBe(1);
    expect(await forging("producer-2")).toBe(0);
    const { view } = await status();
    expect(view.nodes.find((n) => n.host === "producer-1")?.guard).toBe("leading: /sandstone/leader names producer-1; credentials in /opt/cardano/keys");
  });
});
