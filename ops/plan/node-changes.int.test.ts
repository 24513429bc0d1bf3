/**
 * The per-host reading of a real plan, and `npm run deploy`'s node guard, on the AWS emulator: the network, security
 * and nodes stacks applied with relays.count 3, then the pool changed (one relay fewer, bigger chain volumes, a bigger
 * producer type) and planned by real Terraform. The guard (`tools/plan.ts --preflight-only --node-guard`, what
 * `predeploy` runs) refuses that change and lets a change that stops no node through.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../../lab/aws-emulator";
import { PROJECT_ROOT, requireTool, synth, tempDir, writePoolConfig } from "../../test/support";
import { ec2Quotas, startServiceQuotasStandin, type ServiceQuotasStandin } from "../../test/service-quotas-standin";
import { runCommand, stacksInOrder, terraform, terraformEnv } from "../../tools/terraform";
import { stoppingNodes } from "./node-changes";
import { planNodesStack } from "./read-nodes-plan";

const canRun = requireTool(emulatorAvailable(), "moto (the AWS emulator) is not installed for python3");

describe.runIf(canRun)("the nodes stack's plan per host, on the emulator", () => {
  let emulator: AwsEmulator;
  let quotas: ServiceQuotasStandin;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const configOf = (name: string, changes: Record<string, unknown>) => {
    const sub = join(dir, name);
    mkdirSync(sub, { recursive: true });
    return writePoolConfig(sub, { emulator: { endpoint: quotas.endpoint }, backend: { type: "local", directory: join(dir, "state") }, ...changes });
  };
  const guard = (config: string, outdir: string) =>
    runCommand("npx", ["tsx", "tools/plan.ts", "--preflight-only", "--node-guard"], { cwd: PROJECT_ROOT, env: { ...env, POOL_CONFIG: config, CDKTF_OUTDIR: outdir } });

  beforeAll(async () => {
    emulator = await startAwsEmulator();
    quotas = await startServiceQuotasStandin(emulator.endpoint, ec2Quotas({ "L-0263D0A3": 10, "L-1216C47A": 64 }));
    dir = tempDir("pool-node-plan");
    env = terraformEnv(dir);
    const config = configOf("a", { relays: { count: 3 } });
    const outdir = join(dir, "out-a");
    const synthesised = await synth(config, outdir);
    if (synthesised.code !== 0) throw new Error(synthesised.stderr);
    for (const stack of stacksInOrder(outdir).filter((s) => s.name !== "monitoring")) {
      for (const args of [["init", "-input=false", "-no-color"], ["apply", "-auto-approve", "-input=false", "-no-color"]]) {
        const r = await terraform(stack, args, env);
        if (r.code !== 0) throw new Error(`${stack.name}: terraform ${args[0]} failed:\n${r.stdout.slice(-3000)}\n${r.stderr}`);
      }
    }
  }, 600_000);

  afterAll(async () => {
    await quotas?.stop();
    await emulator?.stop();
  });

  test("one relay fewer, bigger chain volumes and a bigger producer type: destroy, online, stop; the guard refuses", async () => {
    const config = configOf("b", { relays: { count: 2, chainDbVolumeGiB: 250 }, producers: { instanceType: "m6i.xlarge" } });
    const outdir = join(dir, "out-b");
    const refused = await guard(config, outdir);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/refused: these changes take nodes down \(relay-3: destroyed, producer-1: in place, with a stop, producer-2: in place, with a stop\)\. Apply them with `npx pool-ops rollout`/);

    const nodes = stacksInOrder(outdir).find((s) => s.name === "nodes")!;
    const plan = await planNodesStack(nodes, env);
    const effects = Object.fromEntries(plan.hosts.map((h) => [h.host, h.effect]));
    expect(effects).toEqual({ "relay-1": "online", "relay-2": "online", "relay-3": "destroy", "producer-1": "stop", "producer-2": "stop", bastion: "none" });
    expect(plan.hosts.find((h) => h.host === "relay-1")!.grows).toEqual(["chain"]);
    expect(stoppingNodes(plan).map((h) => h.host)).toEqual(["relay-3", "producer-1", "producer-2"]);
  }, 300_000);

  test("bigger chain volumes alone stop no node: the guard lets the deploy through", async () => {
    const config = configOf("c", { relays: { count: 3, chainDbVolumeGiB: 250 } });
    const passed = await guard(config, join(dir, "out-c"));
    expect(passed.code, passed.stdout + passed.stderr).toBe(0);
    expect(passed.stdout).toContain("node guard: the nodes stack's plan stops no relay or producer");
  }, 300_000);
});
