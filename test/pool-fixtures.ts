/** Pool configs and synth helpers for unit tests of the stacks. */
import { App, Testing, type TerraformStack } from "cdktf";
import { parsePoolConfig } from "../config/load";
import { tempDir } from "./support";
import type { PoolConfig, PoolConfigInput } from "../config/schema";
import { PoolStack } from "../stacks/pool-stack";

/** A public key whose private half nobody has: enough for stacks that only render it. */
export const TEST_AUTHORIZED_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILQshKXh3OnWbRCzpaTDNzGu8oyzm/cGh6ks7ELofP63 test-operator";

export const TEST_POOL: PoolConfigInput = {
  name: "testpool",
  network: "preprod",
  region: "eu-west-1",
  availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
  bastion: { adminCidrs: ["203.0.113.0/24"] },
  ssh: { authorizedKeys: [TEST_AUTHORIZED_KEY] },
  monitoring: { alertEmails: ["ops@example.org"] },
};

export function testPool(changes: Record<string, unknown> = {}): PoolConfig {
  return parsePoolConfig({ ...TEST_POOL, ...changes }, "test-pool");
}

/** A stack with nothing but the pool's provider, backend and policy checks: tests add resources to it. */
export class ScratchStack extends PoolStack {}

export interface SynthJson {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value: unknown }>;
}

export function synthJson(stack: TerraformStack): SynthJson {
  return JSON.parse(Testing.synth(stack)) as SynthJson;
}

export function resourcesOf(json: SynthJson, type: string): Record<string, unknown>[] {
  return Object.values(json.resource?.[type] ?? {});
}

/** Runs the full synth (validations included) and returns the error message, or undefined when it passed. */
export function synthFailure(build: (app: App) => void): string | undefined {
  const app = testApp();
  build(app);
  try {
    app.synth();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** cdktf's test app with its output directory one of ours (Testing.app() alone leaves a /tmp/cdktf.outdir.* behind). */
export function testApp(): App {
  return Testing.app({ outdir: tempDir("cdktf-outdir") });
}
