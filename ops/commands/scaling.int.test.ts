/**
 * Scaling on a lab deployed with `cdktf deploy` into the lab's AWS, by the README's Scaling table: edit the pool config,
 * `npm run synth`, `npx pool-ops rollout`. Real Terraform applies each host's resources; the lab's EC2 boots a machine
 * for every instance it launches and shuts down every one it terminates.
 *
 * - Scale out and back (relays.count 2 → 4 → 2): the new relays run and are healthy, every node's topology lists them,
 *   the monitoring host's Prometheus discovers and scrapes them through EC2, `pool-ops status` shows them; scaled back,
 *   they are gone from each of those and their instances are terminated.
 * - Scale up (producers.instanceType): the standby changed first, the promotion, the old leader changed; never two
 *   producers forging, no producer forging only during the one promotion; no drift afterwards.
 *
 * 2 → 4 → 2 rather than the issue's 4 → 6 → 4: the same paths (relays created one after another and synced, relay-3 in
 * the third zone's subnet and relay-4 at a second address of the first, every topology pushed, two relays destroyed),
 * with four fewer machines booting and two fewer created one at a time on this 2-core machine.
 * (`npm run deploy` refusing a change that stops the leader is tested with real Terraform plans on the emulator:
 * ops/plan/node-changes.int.test.ts.)
 */
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { poolAddressPlan } from "../../config/address-plan";
import { hostLayout } from "../../config/host-layout";
import { parsePoolConfigYaml } from "../../config/load";
import { bothForging, ForgingSampler, forgingGaps } from "../../lab/forging-sampler";
import { LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab, type PoolOpsRun } from "../../lab/harness";
import { hostExec } from "../../lab/lab-hosts";
import { provisionLabPool, type ProvisionedPool } from "../../lab/pool-provision";
import { EC2_DISCOVERY_REFRESH_SECONDS, SCRAPE_INTERVAL_SECONDS } from "../../monitoring/monitoring-files";
import { synth, tempDir } from "../../test/support";
import { stacksInOrder, terraform, terraformEnv } from "../../tools/terraform";
import { awsClientSettings } from "../aws/client-config";

const POOL = "sandstone";
/**
 * How long Prometheus may take to follow an instance launched or terminated: one discovery refresh to see it, a second
 * when it changed just after one, two scrapes to have scraped it, and 30 s for the scrape to land in the API.
 */
const DISCOVERY_DEADLINE_MS = (2 * EC2_DISCOVERY_REFRESH_SECONDS + 2 * SCRAPE_INTERVAL_SECONDS + 30) * 1000;

interface PromTarget {
  readonly labels: Record<string, string>;
  readonly health: string;
  readonly lastError: string;
}

describe.skipIf(LAB_SKIP)(`scaling with pool-ops rollout on the emulator and the lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab({ relays: 2, deploy: "cdktf" });
  let pool: ProvisionedPool;
  let dir: string;
  let env: Record<string, string>;
  let baseDoc: Record<string, unknown>;
  const settings = () => awsClientSettings({ region: "eu-west-1", endpoint: lab().awsEndpoint });

  /** The README's first two steps: the pool config edited, then `npm run synth` into its own directory. */
  async function editAndSynth(name: string, edit: (doc: Record<string, Record<string, unknown>>) => void): Promise<{ config: string; outdir: string }> {
    const doc = structuredClone(baseDoc) as Record<string, Record<string, unknown>>;
    edit(doc);
    const config = join(dir, `${name}.yaml`);
    writeFileSync(config, stringify(doc));
    const outdir = join(dir, `out-${name}`);
    const r = await synth(config, outdir);
    if (r.code !== 0) throw new Error(`npm run synth of ${name} failed:\n${r.stdout}\n${r.stderr}`);
    return { config, outdir };
  }
  const rollout = (config: string, outdir: string, ...extra: string[]) => runPoolOps(lab(), ["--config", config, "rollout", "--stacks", outdir, ...extra], { env: { ...env, POOL_CONFIG: config }, timeoutMs: 1_500_000 });
  const stepsRun = (r: PoolOpsRun) => [...r.stdout.matchAll(/^((?:create|destroy|stop|change|replace|promote):[\w-]+|topology|settle): /gm)].map((m) => m[1]);
  const planned = (r: PoolOpsRun) => [...r.stdout.matchAll(/^ {2}((?:create|destroy|stop|change|replace|promote):[\w-]+|topology|settle) /gm)].map((m) => m[1]);

  async function instances(): Promise<{ host: string; state: string; type: string }[]> {
    const ec2 = new EC2Client(settings());
    try {
      const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:Pool", Values: [POOL] }] }));
      return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => ({
        host: i.Tags?.find((t) => t.Key === "Name")?.Value?.replace(`${POOL}-`, "") ?? "",
        state: i.State?.Name ?? "",
        type: i.InstanceType ?? "",
      }));
    } finally {
      ec2.destroy();
    }
  }

  /** Every relay's and producer's topology, as the addresses of its local roots, read on the hosts (`pool-ops run`). */
  async function topologies(config: string): Promise<Record<string, string[]>> {
    const layout = hostLayout(parsePoolConfigYaml(readFileSync(config, "utf8"), config));
    const r = await runPoolOps(lab(), ["--json", "--config", config, "--role", "relay,producer", "run", "--sudo", "--", `cat ${layout.topology}`], { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const results = r.json<{ results: { host: string; stdout: string }[] }>().results;
    return Object.fromEntries(
      results.map((x) => {
        const topology = JSON.parse(x.stdout) as { localRoots: { accessPoints: { address: string }[] }[] };
        return [x.host, topology.localRoots.flatMap((root) => root.accessPoints.map((p) => p.address)).sort()];
      }),
    );
  }
  /** What each node's topology must list for a pool of `relays` relays: relays all others, producers the relays. */
  function expectedTopologies(relays: number): Record<string, string[]> {
    const hosts = poolAddressPlan(parsePoolConfigYaml(stringify({ ...baseDoc, relays: { ...(baseDoc.relays as object), count: relays } }), "scaled")).hosts.filter((h) => h.role === "relay" || h.role === "producer");
    return Object.fromEntries(hosts.map((h) => [h.name, hosts.filter((o) => o.name !== h.name && (h.role === "relay" || o.role === "relay")).map((o) => o.privateIp).sort()]));
  }

  /** The monitoring host's Prometheus: its active targets, from its HTTP API on the host itself. */
  function promTargets(): PromTarget[] {
    const out = hostExec(lab(), "monitoring", "curl -sf 'http://127.0.0.1:9090/api/v1/targets?state=active'");
    return (JSON.parse(out) as { data: { activeTargets: PromTarget[] } }).data.activeTargets;
  }
  /** Waits until Prometheus scrapes exactly these hosts, each up, in the cardano-node job; returns its targets. */
  async function waitForScrapedNodes(hosts: readonly string[]): Promise<PromTarget[]> {
    const until = Date.now() + DISCOVERY_DEADLINE_MS;
    let last: PromTarget[] = [];
    for (;;) {
      last = promTargets().filter((t) => t.labels.job === "cardano-node");
      const up = last.filter((t) => t.health === "up").map((t) => t.labels.host).sort();
      if (last.length === hosts.length && JSON.stringify(up) === JSON.stringify([...hosts].sort())) return last;
      if (Date.now() > until) {
        throw new Error(`Prometheus did not scrape exactly ${hosts.join(", ")} within ${DISCOVERY_DEADLINE_MS / 1000} s (EC2 discovery every ${EC2_DISCOVERY_REFRESH_SECONDS} s): ${JSON.stringify(last.map((t) => ({ ...t.labels, health: t.health, error: t.lastError })))}`);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  async function statusHosts(config: string): Promise<{ host: string; role: string; reachable: boolean; metrics: boolean; slot?: number }[]> {
    const r = await runPoolOps(lab(), ["--json", "--config", config, "status"], { env, timeoutMs: 120_000 });
    return r.json<{ nodes: { host: string; role: string; reachable: boolean; metrics: boolean; slot?: number }[] }>().nodes;
  }

  beforeAll(async () => {
    pool = await provisionLabPool(lab());
    dir = tempDir("pool-scaling");
    baseDoc = parse(readFileSync(lab().files.poolConfig, "utf8")) as Record<string, unknown>;
    env = { ...(terraformEnv(dir) as Record<string, string>), POOL_OPS_STATE_DIR: join(dir, "state-dir") };
  }, 900_000);
  afterAll(async () => {
    await pool?.fleet.close();
  });

  it("before scaling: Prometheus found the deployed nodes through EC2, labelled by host, role and AZ", async () => {
    const targets = await waitForScrapedNodes(["relay-1", "relay-2", "producer-1", "producer-2"]);
    const plan = poolAddressPlan(pool.config).hosts;
    for (const t of targets) {
      const h = plan.find((p) => p.name === t.labels.host)!;
      expect(t.labels, t.labels.host).toMatchObject({ role: h.role, az: h.availabilityZone, instance: `${h.privateIp}:${pool.config.node.metricsPort}` });
    }
    const exporters = promTargets().filter((t) => t.labels.job === "node-exporter").map((t) => t.labels.host).sort();
    expect(exporters).toEqual(["monitoring", "producer-1", "producer-2", "relay-1", "relay-2"]);
  }, DISCOVERY_DEADLINE_MS + 30_000);

  it("relays.count 2 → 4: created and synced one at a time, in every topology, scraped by Prometheus, in pool-ops status", async () => {
    const { config, outdir } = await editAndSynth("relays-4", (doc) => (doc.relays = { ...doc.relays, count: 4 }));
    const dry = await rollout(config, outdir, "--dry-run");
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(planned(dry)).toEqual(["create:relay-3", "create:relay-4", "topology", "settle"]);
    const r = await rollout(config, outdir, "--yes");
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(stepsRun(r)).toEqual(["create:relay-3", "create:relay-4", "topology", "settle"]);
    expect(r.stdout).toMatch(/relay-3 healthy: slot \d+/);
    expect(r.stdout).toMatch(/relay-4 healthy: slot \d+/);
    expect((await instances()).filter((i) => i.state === "running" && i.host.startsWith("relay-")).map((i) => i.host).sort()).toEqual(["relay-1", "relay-2", "relay-3", "relay-4"]);
    expect(await topologies(config)).toEqual(expectedTopologies(4));
    const targets = await waitForScrapedNodes(["relay-1", "relay-2", "relay-3", "relay-4", "producer-1", "producer-2"]);
    const plan = poolAddressPlan(parsePoolConfigYaml(readFileSync(config, "utf8"), config)).hosts;
    for (const host of ["relay-3", "relay-4"]) {
      const h = plan.find((p) => p.name === host)!;
      expect(targets.find((t) => t.labels.host === host)?.labels).toMatchObject({ role: "relay", az: h.availabilityZone, instance: `${h.privateIp}:${pool.config.node.metricsPort}` });
    }
    const nodes = await statusHosts(config);
    for (const host of ["relay-3", "relay-4"]) expect(nodes.find((n) => n.host === host), host).toMatchObject({ role: "relay", reachable: true, metrics: true, slot: expect.any(Number) });
  }, 1_800_000);

  it("relays.count 4 → 2: out of every topology, then destroyed; dropped by Prometheus and pool-ops status", async () => {
    const { config, outdir } = await editAndSynth("relays-2", (doc) => (doc.relays = { ...doc.relays, count: 2 }));
    const r = await rollout(config, outdir, "--yes");
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(stepsRun(r)).toEqual(["topology", "destroy:relay-3", "destroy:relay-4", "settle"]);
    const now = await instances();
    for (const host of ["relay-3", "relay-4"]) expect(now.filter((i) => i.host === host).map((i) => i.state), host).toEqual(expect.arrayContaining(["terminated"]));
    expect(now.filter((i) => (i.host === "relay-3" || i.host === "relay-4") && i.state !== "terminated")).toEqual([]);
    expect(await topologies(config)).toEqual(expectedTopologies(2));
    await waitForScrapedNodes(["relay-1", "relay-2", "producer-1", "producer-2"]);
    expect(promTargets().filter((t) => t.labels.host === "relay-3" || t.labels.host === "relay-4")).toEqual([]);
    expect((await statusHosts(config)).map((n) => n.host).sort()).toEqual(["producer-1", "producer-2", "relay-1", "relay-2"]);
  }, 1_800_000);

  it("producers.instanceType: the standby changed first, promotion, the old leader changed; never two forging; no drift", async () => {
    const { config, outdir } = await editAndSynth("producers-xlarge", (doc) => (doc.producers = { ...doc.producers, instanceType: "m6i.xlarge" }));
    const sampler = new ForgingSampler(lab(), pool.config, pool.fleet);
    sampler.start();
    let r: PoolOpsRun;
    try {
      r = await rollout(config, outdir, "--yes");
    } finally {
      await sampler.stop();
    }
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(stepsRun(r)).toEqual(["stop:producer-2", "promote:producer-2", "stop:producer-1", "settle"]);
    expect((await instances()).filter((i) => i.host.startsWith("producer-")).map((i) => [i.host, i.type]).sort()).toEqual([["producer-1", "m6i.xlarge"], ["producer-2", "m6i.xlarge"]]);
    const samples = sampler.samples;
    expect(samples.length).toBeGreaterThan(10);
    expect(bothForging(samples)).toEqual([]);
    // The promotion fences the old leader before the new one forges: one stretch with no producer forging, no more.
    const gaps = forgingGaps(samples);
    expect(gaps.length, `stretches with no producer forging: ${JSON.stringify(gaps.map((g) => `${(g.to - g.from) / 1000} s`))}`).toBeLessThanOrEqual(1);
    expect([await sampler.read("producer-1"), await sampler.read("producer-2")], `last error reading forging: ${String(sampler.lastError)}`).toEqual([0, 1]);
    await sampler.close();
    for (const stack of stacksInOrder(outdir)) {
      const init = await terraform(stack, ["init", "-input=false", "-no-color"], env);
      expect(init.code, init.stderr).toBe(0);
      const plan = await terraform(stack, ["plan", "-detailed-exitcode", "-input=false", "-no-color"], env);
      expect(plan.code, `${stack.name} drift after the rollout:\n${plan.stdout}\n${plan.stderr}`).toBe(0);
    }
  }, 1_800_000);
});
