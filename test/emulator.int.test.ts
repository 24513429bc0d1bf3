/**
 * Every stack on the AWS emulator, driven the way an operator drives a real pool: `cdktf deploy '*'` applies the
 * stacks in dependency order, then `terraform plan -detailed-exitcode` in each synthesised stack must exit 0 (no
 * drift), and pool-ops reads the deployed inventory from `cdktf deploy --outputs-file`. The provider points at the
 * emulator only because this test's pool config says so.
 *
 * `--skip-provider-lock`: cdktf otherwise runs `terraform providers lock`, which needs the public registry; this
 * machine installs the provider from its filesystem mirror (README, "Deploying").
 */
import { DynamoDBClient, UpdateTableCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadPoolConfigFile } from "../config/load";
import { poolLeaseTable } from "../config/names";
import type { PoolConfig } from "../config/schema";
import { awsClientSettings } from "../ops/aws/client-config";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../lab/aws-emulator";
import { runCommand, stacksInOrder, terraform, terraformEnv, type SynthesisedStack } from "../tools/terraform";
import { PROJECT_ROOT, requireTool, tempDir, writePoolConfig } from "./support";

const canRun = requireTool(emulatorAvailable(), "moto (the AWS emulator) is not installed for python3");

describe.runIf(canRun)("cdktf deploy of every stack on the AWS emulator, then no drift", () => {
  let emulator: AwsEmulator;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let outdir: string;
  let stacks: SynthesisedStack[] = [];
  let deployed = false;
  let poolConfig: PoolConfig;

  beforeAll(async () => {
    emulator = await startAwsEmulator();
    dir = tempDir("pool-emulator");
    const config = writePoolConfig(dir, {
      emulator: { endpoint: emulator.endpoint },
      backend: { type: "local", directory: join(dir, "state") },
    });
    poolConfig = loadPoolConfigFile(config);
    outdir = join(dir, "cdktf.out");
    env = { ...terraformEnv(dir), POOL_CONFIG: config };
  }, 60_000);

  afterAll(async () => {
    if (deployed) {
      // As an operator destroying the pool must: lift the lease table's deletion protection first.
      const dynamodb = new DynamoDBClient(awsClientSettings({ region: poolConfig.region, endpoint: emulator.endpoint }));
      await dynamodb.send(new UpdateTableCommand({ TableName: poolLeaseTable(poolConfig.name).name, DeletionProtectionEnabled: false })).catch((error: Error) => console.error(`lifting the lease table's deletion protection failed: ${error.message}`));
      dynamodb.destroy();
      for (const stack of [...stacks].reverse()) {
        const destroyed = await terraform(stack, ["destroy", "-auto-approve", "-input=false", "-no-color"], env);
        if (destroyed.code !== 0) console.error(`destroy of ${stack.name} failed:\n${destroyed.stderr}`);
      }
    }
    await emulator?.stop();
  }, 600_000);

  test("`cdktf deploy '*'` applies network, security, nodes and monitoring in order", async () => {
    const outputsFile = join(dir, "outputs.json");
    const deploy = await runCommand(
      "npx",
      ["cdktf", "deploy", "*", "--auto-approve", "--skip-provider-lock", "--output", outdir, "--outputs-file", outputsFile],
      { cwd: PROJECT_ROOT, env },
    );
    deployed = existsSync(join(dir, "state"));
    stacks = stacksInOrder(outdir);
    expect(deploy.code, `cdktf deploy failed:\n${deploy.stdout.slice(-4000)}\n${deploy.stderr.slice(-4000)}`).toBe(0);
    expect(stacks.map((s) => s.name)).toEqual(["network", "security", "nodes", "monitoring"]);

    // pool-ops reads the deployed pool's inventory from the outputs file.
    const inventory = await runCommand(process.execPath, [join(PROJECT_ROOT, "bin", "pool-ops.mjs"), "inventory", "--inventory", outputsFile, "--json"], { cwd: PROJECT_ROOT, env });
    expect(inventory.code, inventory.stderr).toBe(0);
    const listed = JSON.parse(inventory.stdout) as { bastion: { publicIp: string }; hosts: { name: string; instanceId: string }[] };
    expect(listed.hosts.map((h) => h.name)).toEqual(["relay-1", "relay-2", "relay-3", "relay-4", "producer-1", "producer-2"]);
    expect(listed.hosts.every((h) => /^i-[0-9a-f]+$/.test(h.instanceId))).toBe(true);
    expect(listed.bastion.publicIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  }, 900_000);

  test("`terraform plan -detailed-exitcode` shows no changes in any stack", async () => {
    expect(stacks.length).toBe(4);
    for (const stack of stacks) {
      const plan = await terraform(stack, ["plan", "-detailed-exitcode", "-input=false", "-no-color"], env);
      expect(plan.code, `${stack.name} drift after deploy:\n${plan.stdout}\n${plan.stderr}`).toBe(0);
    }
  }, 600_000);
});
