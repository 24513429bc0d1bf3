/**
 * Every stack on the AWS emulator: synth → terraform init → validate → apply → plan -detailed-exitcode (no drift)
 * → destroy, in dependency order. The provider points at the emulator only because this test's config says so.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { join } from "node:path";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../lab/aws-emulator";
import { stacksInOrder, terraform, terraformEnv, type SynthesisedStack } from "../tools/terraform";
import { requireTool, synth, tempDir, writePoolConfig } from "./support";

const canRun = requireTool(emulatorAvailable(), "moto_server (the AWS emulator) is not on PATH");

describe.runIf(canRun)("every stack applies on the AWS emulator with no drift", () => {
  let emulator: AwsEmulator;
  let stacks: SynthesisedStack[] = [];
  let env: NodeJS.ProcessEnv;
  const applied: SynthesisedStack[] = [];

  beforeAll(async () => {
    emulator = await startAwsEmulator();
    const dir = tempDir("pool-emulator");
    const config = writePoolConfig(dir, {
      emulator: { endpoint: emulator.endpoint },
      backend: { type: "local", directory: join(dir, "state") },
    });
    const outdir = join(dir, "cdktf.out");
    const result = await synth(config, outdir);
    expect(result.code, result.stderr).toBe(0);
    stacks = stacksInOrder(outdir);
    env = terraformEnv(dir);
  }, 120_000);

  afterAll(async () => {
    for (const stack of [...applied].reverse()) {
      const destroyed = await terraform(stack, ["destroy", "-auto-approve", "-input=false", "-no-color"], env);
      if (destroyed.code !== 0) console.error(`destroy of ${stack.name} failed:\n${destroyed.stderr}`);
    }
    await emulator?.stop();
  }, 600_000);

  test("synthesises the stacks in dependency order", () => {
    expect(stacks.map((s) => s.name)[0]).toBe("network");
  });

  test("init, validate, apply and a clean second plan for every stack", async () => {
    for (const stack of stacks) {
      const init = await terraform(stack, ["init", "-input=false", "-no-color"], env);
      expect(init.code, `${stack.name} init: ${init.stderr}`).toBe(0);
      const validate = await terraform(stack, ["validate", "-no-color"], env);
      expect(validate.code, `${stack.name} validate: ${validate.stderr}`).toBe(0);
      const apply = await terraform(stack, ["apply", "-auto-approve", "-input=false", "-no-color"], env);
      applied.push(stack);
      expect(apply.code, `${stack.name} apply: ${apply.stderr}`).toBe(0);
      const plan = await terraform(stack, ["plan", "-detailed-exitcode", "-input=false", "-no-color"], env);
      expect(plan.code, `${stack.name} drift after apply:\n${plan.stdout}\n${plan.stderr}`).toBe(0);
    }
  }, 900_000);
});
