/**
 * `pool-ops promote` and `pool-ops leader` on the lab, with SSM and EC2 on the moto emulator, run as an operator
 * types them. While a promotion runs, the test samples both producers' forging metric and fails on any moment with
 * both forging.
 */
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostLayout } from "../../config/host-layout";
import { labFleet, LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab, waitForSsh } from "../../lab/harness";
import { faultFile, instanceAction, setLink } from "../../lab/lab-hosts";
import { generateLabPoolKeys, provisionLabPool, type ProvisionedPool } from "../../lab/pool-provision";
import { awsClientSettings } from "../aws/client-config";
import { kesPeriodAt, readOperationalCertificate } from "../cardano";
import { metricValue, readNodeMetrics } from "../pool/node-metrics";
import { confirmForging, readForging, waitStartupDone } from "../pool/forging";
import { forgingState } from "../pool/producer-role";

const skip = LAB_SKIP;

// Each promotion restarts two nodes and watches them for a few slots: a loaded machine needs more than the default.
describe.skipIf(skip)(`promote on the lab${LAB_SKIP_NOTE}`, { timeout: 120_000 }, () => {
  const lab = useLab();
  let pool: ProvisionedPool;
  // The producers are the lab's EC2 instances: fencing through EC2 stops a real machine.
  const settings = () => awsClientSettings({ region: "eu-west-1", endpoint: lab().awsEndpoint });

  beforeAll(async () => {
    pool = await provisionLabPool(lab());
  }, 120_000);
  afterAll(async () => {
    await pool?.fleet.close();
  });

  const promoteCli = (args: string[] = []) => runPoolOps(lab(), ["promote", "--yes", "--aws-endpoint", lab().awsEndpoint, ...args], { timeoutMs: 240_000 });
  const forging = (host: string) => forgingState(pool.config, pool.fleet.connection(host)).catch(() => undefined);
  async function recordedLeader(): Promise<string | undefined> {
    const ssm = new SSMClient(settings());
    try {
      return (await ssm.send(new GetParameterCommand({ Name: "/sandstone/leader" }))).Parameter?.Value;
    } finally {
      ssm.destroy();
    }
  }
  /** Runs promote while sampling both producers; returns the run and every sample. */
  async function promoteWatched(args: string[] = []) {
    const samples: [number | undefined, number | undefined][] = [];
    let running = true;
    const sampler = (async () => {
      while (running) {
        samples.push(await Promise.all([forging("producer-1"), forging("producer-2")]));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const r = await promoteCli(args);
    running = false;
    await sampler;
    return { r, samples };
  }

  it("promote --dry-run says what it would do and changes nothing", async () => {
    const r = await runPoolOps(lab(), ["promote", "--dry-run", "--aws-endpoint", lab().awsEndpoint]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dry run: would fence producer-1 \(now forging\), then promote producer-2/);
    expect([await forging("producer-1"), await forging("producer-2")]).toEqual([1, 0]);
  });

  it("promote --yes: old leader fenced, standby forging, SSM updated, never both forging", async () => {
    const { r, samples } = await promoteWatched();
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/producer-2 is the leader \(forging \d+\.\d+ s after start\); producer-1 fenced by ssh/);
    expect(samples.length).toBeGreaterThan(3);
    expect(samples.filter(([a, b]) => a === 1 && b === 1)).toEqual([]);
    expect([await forging("producer-1"), await forging("producer-2")]).toEqual([0, 1]);
    expect(await recordedLeader()).toBe("producer-2");
    const layout = hostLayout(pool.config);
    expect(await pool.fleet.connection("producer-1").read(layout.activeCredentials.opcert)).toBeUndefined();
    // The fenced leader's command line names no credentials; the new leader's does.
    expect(await pool.fleet.connection("producer-1").readText(layout.environmentFile)).not.toMatch(/shelley|non-producing/);
    expect(await pool.fleet.connection("producer-2").readText(layout.environmentFile)).toMatch(/--shelley-kes-key/);
    // A former leader fenced by SSH restarts as a standby: running, and not forging.
    const old = pool.fleet.connection("producer-1");
    await old.runChecked(pool.config.node.service.restart);
    const after = await confirmForging(pool.config, old, "not forging", 20_000);
    expect(after.confirmed, JSON.stringify(after.last)).toBe(true);
    const leader = await runPoolOps(lab(), ["leader", "--aws-endpoint", lab().awsEndpoint, "--json"]);
    expect(leader.code).toBe(0);
    expect(leader.json()).toMatchObject({ recorded: "producer-2", forging: ["producer-2"], problems: [] });
  });

  it("promote --back returns the role the same way", async () => {
    const { r, samples } = await promoteWatched(["--back"]);
    expect(r.code, r.stderr).toBe(0);
    expect(samples.filter(([a, b]) => a === 1 && b === 1)).toEqual([]);
    expect([await forging("producer-1"), await forging("producer-2")]).toEqual([1, 0]);
    expect(await recordedLeader()).toBe("producer-1");
  });

  it("leader trusts the Forge counters over a stuck gauge (cardano-node #6113/#6576)", async () => {
    const standby = pool.fleet.connection("producer-2");
    const stuck = `${hostLayout(pool.config).home}/lab/forging-gauge-stuck`;
    // Fault injection: a file the stand-in reads (lab/node-standin.md), in a directory only the lab uses.
    await standby.runChecked(`install -d ${hostLayout(pool.config).home}/lab`);
    await standby.put(stuck, "", { owner: "root", group: "root", mode: 0o644, backup: false });
    try {
      const r = await runPoolOps(lab(), ["leader", "--aws-endpoint", lab().awsEndpoint, "--json"]);
      expect(r.code).toBe(1);
      const out = r.json<{ forging: string[]; problems: string[] }>();
      expect(out.forging).toEqual(["producer-1"]);
      expect(out.problems.join("\n")).toMatch(/producer-2: its forging gauge says 1 but its Forge loop does not run/);
      expect(out.problems.join("\n")).not.toMatch(/MORE THAN ONE/);
    } finally {
      await standby.run(`rm -f ${stuck}`);
    }
  });

  it("a leader restarted (as push-config does) and fenced while still starting does not forge when its startup ends", async () => {
    const leader = pool.fleet.connection("producer-1");
    const slowStart = `${hostLayout(pool.config).home}/lab/startup-seconds`;
    await leader.runChecked(`install -d ${hostLayout(pool.config).home}/lab`);
    await leader.put(slowStart, "6\n", { owner: "root", group: "root", mode: 0o644, backup: false });
    try {
      await leader.runChecked(pool.config.node.service.restart);
      // Still replaying: no chain slot yet, the gauge announces forging to come.
      const reading = await readForging(pool.config, leader);
      expect(reading.chainSlot).toBeUndefined();
      const { r, samples } = await promoteWatched();
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/producer-1 fenced by ssh/);
      // Past the startup it was fenced in: restarted as a standby, it must not forge now.
      await waitStartupDone(pool.config, leader, 20_000);
      const quiet = await confirmForging(pool.config, leader, "not forging", 20_000);
      expect(quiet.confirmed, JSON.stringify(quiet.last)).toBe(true);
      expect(samples.filter(([a, b]) => a === 1 && b === 1)).toEqual([]);
      expect(await recordedLeader()).toBe("producer-2");
    } finally {
      await leader.run(`rm -f ${slowStart}`);
    }
    const back = await promoteCli(["--back"]);
    expect(back.code, back.stderr).toBe(0);
    expect(await recordedLeader()).toBe("producer-1");
  }, 120_000);

  it("--new-opcert without the chain's counter refuses and leaves the old leader forging", async () => {
    const r = await promoteCli(["--new-opcert"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--new-opcert needs the chain's last counter/);
    expect(r.stderr).toMatch(/producer-1 forges again \(restored\)/);
    expect([await forging("producer-1"), await forging("producer-2")]).toEqual([1, 0]);
    expect(await recordedLeader()).toBe("producer-1");
  });

  it("--new-opcert with the chain's counter known: the promoted producer forges with counter m + 1", async () => {
    writeFileSync(lab().files.poolConfig, `${readFileSync(lab().files.poolConfig, "utf8")}kes:\n  onChainCounterCommand: echo 0\n`);
    const { r, samples } = await promoteWatched(["--new-opcert"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/producer-2: new op cert, counter 0 → 1/);
    expect(samples.filter(([a, b]) => a === 1 && b === 1)).toEqual([]);
    const m = await readNodeMetrics(pool.fleet.connection("producer-2"), hostLayout(pool.config).nodeConfig, 12798);
    expect(m && metricValue(m, "cardano_node_lab_opcert_counter_int")).toBe(1);
    // Both producers hold the new cert, so promoting back later cannot use a counter the chain has passed.
    const held = readOperationalCertificate((await pool.fleet.connection("producer-1").readText(hostLayout(pool.config).heldCredentials.opcert))!, "held");
    expect(held.counter).toBe(1);
    const back = await promoteCli();
    expect(back.code, back.stderr).toBe(0);
    expect([await forging("producer-1"), await forging("producer-2")]).toEqual([1, 0]);
  });

  it("a standby that is not synced blocks the promotion", async () => {
    const lag = faultFile(lab(), "producer-2", "slot-lag");
    writeFileSync(lag, "500");
    try {
      const r = await promoteCli();
      expect(r.code).not.toBe(0);
      // 500 slots behind, give or take the slot that may tick between reading the producer and the relays.
      expect(r.stderr).toMatch(/producer-2 is not synced: slot \d+, (49[89]|50[0-2]) behind the relays'/);
    } finally {
      rmSync(lag, { force: true });
    }
    expect([await forging("producer-1"), await forging("producer-2")]).toEqual([1, 0]);
  });

  it("a standby whose cert does not verify against the pool's cold key blocks the promotion", async () => {
    const layout = hostLayout(pool.config);
    const standby = pool.fleet.connection("producer-2");
    const good = (await standby.readText(layout.heldCredentials.opcert))!;
    const other = generateLabPoolKeys({ kesPeriod: kesPeriodAt(new Date(), "preprod"), counter: 0 });
    await standby.put(layout.heldCredentials.opcert, other.opcert, { owner: "cardano", group: "cardano", mode: 0o600, backup: false });
    try {
      const r = await promoteCli();
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/cannot promote producer-2: .*issued for a different cold key/);
    } finally {
      await standby.put(layout.heldCredentials.opcert, good, { owner: "cardano", group: "cardano", mode: 0o600, backup: false });
    }
    expect([await forging("producer-1"), await forging("producer-2")]).toEqual([1, 0]);
  });

  it("fencing impossible (link down, instance unknown to EC2) and no --force-unfenced: refuses, nothing changes", async () => {
    const doc = JSON.parse(readFileSync(lab().files.inventory, "utf8")) as { inventory: { value: { hosts: { name: string; instanceId: string }[] } } };
    const p1 = doc.inventory.value.hosts.find((h) => h.name === "producer-1")!;
    const realId = p1.instanceId;
    p1.instanceId = "i-0000000000000dead";
    writeFileSync(lab().files.inventory, JSON.stringify(doc));
    setLink(lab(), "producer-1", false);
    try {
      const r = await promoteCli();
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/producer-1 could not be fenced .*refusing to promote producer-2/);
      expect(r.stderr).toMatch(/--force-unfenced/);
      expect(await forging("producer-2")).toBe(0);
      expect(await recordedLeader()).toBe("producer-1");
    } finally {
      setLink(lab(), "producer-1", true);
      p1.instanceId = realId;
      writeFileSync(lab().files.inventory, JSON.stringify(doc));
    }
    expect(await forging("producer-1")).toBe(1);
  }, 120_000);

  it("with the old leader's link down, fences it by stopping its instance through EC2, then promotes", async () => {
    setLink(lab(), "producer-1", false);
    try {
      const r = await promoteCli();
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stderr).toMatch(/stopping its instance i-[0-9a-f]+ through EC2/);
      expect(r.stdout).toMatch(/producer-1 fenced by ec2/);
      const doc = JSON.parse(readFileSync(lab().files.inventory, "utf8")) as { inventory: { value: { hosts: { name: string; instanceId: string }[] } } };
      const id = doc.inventory.value.hosts.find((h) => h.name === "producer-1")!.instanceId;
      const ec2 = new EC2Client(settings());
      const state = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name;
      ec2.destroy();
      expect(state).toBe("stopped");
      expect(await forging("producer-2")).toBe(1);
      expect(await recordedLeader()).toBe("producer-2");
    } finally {
      setLink(lab(), "producer-1", true);
    }
    // Started again (an operator's start, a recovery): its boot's leader guard reads the record and it stands by.
    await instanceAction(lab(), "producer-1", "start");
    await waitForSsh(lab(), "producer-1", 120_000);
    await pool.fleet.close();
    pool = { ...pool, fleet: await labFleet(lab()) };
    const until = Date.now() + 120_000;
    while ((await forging("producer-1")) === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 1000));
    expect(await forging("producer-1")).toBe(0);
    expect(await forging("producer-2")).toBe(1);
    const held = await pool.fleet.connection("producer-1").readText(hostLayout(pool.config).heldCredentials.opcert);
    expect(held, "the fenced leader holds its credentials aside after the boot").toBeDefined();
  }, 360_000);
});
