/**
 * `npm run cost`: the pool's monthly on-demand cost by line (instances, volumes, endpoints, public IPv4, KMS, Secrets
 * Manager, alarms), from the synthesised stacks of the pool config (POOL_CONFIG, else the embedded default) and the
 * price table tools/cost/prices.json. `--json` prints the same as data.
 */
import { App } from "cdktf";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPoolConfig } from "../config/load";
import type { PoolConfig } from "../config/schema";
import { buildPoolStacks } from "../stacks/pool-app";
import { formatPoolCost, poolCost, PriceTableSchema, type PoolCost, type PriceTable } from "./cost/pool-cost";
import { stacksInOrder } from "./terraform";

export function priceTable(): PriceTable {
  return PriceTableSchema.parse(JSON.parse(readFileSync(new URL("./cost/prices.json", import.meta.url), "utf8")));
}

/** The pool's cost, synthesising its stacks into a scratch directory. */
export function costOfPool(config: PoolConfig, table = priceTable()): PoolCost {
  const outdir = mkdtempSync(join(tmpdir(), "pool-cost-"));
  try {
    const app = new App({ outdir });
    buildPoolStacks(app, config);
    app.synth();
    const stacks = stacksInOrder(outdir).map((s) => JSON.parse(readFileSync(join(s.directory, "cdk.tf.json"), "utf8")));
    return poolCost(config.region, stacks, table);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--json");
  if (unknown.length > 0) {
    console.error(`cost: unknown option ${unknown.join(", ")} (expected --json)`);
    process.exit(2);
  }
  try {
    const { config } = loadPoolConfig();
    const table = priceTable();
    const cost = costOfPool(config, table);
    process.stdout.write(args.includes("--json") ? `${JSON.stringify(cost, null, 2)}\n` : formatPoolCost(cost, table));
  } catch (error) {
    console.error(`cost failed: ${(error as Error).message}`);
    process.exit(1);
  }
}
