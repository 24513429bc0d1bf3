/**
 * The cdktf app: load the pool config, build the stacks, synthesise. Nothing else.
 * POOL_CONFIG names the config file; without it the embedded default pool (a preprod pool) is used.
 */
import { App } from "cdktf";
import { loadPoolConfig } from "./config/load";
import { buildPoolStacks } from "./stacks/pool-app";

try {
  const { config } = loadPoolConfig();
  const app = new App();
  const stacks = buildPoolStacks(app, config);
  app.synth();
  console.log(`synthesised ${Object.keys(stacks).length} stacks for pool ${config.name} (${config.network}) into ${app.outdir}/stacks`);
} catch (error) {
  // Bad config and policy violations are expected failures: the message says what and where, a stack trace doesn't.
  console.error(process.env.POOL_DEBUG ? error : `synth failed: ${(error as Error).message}`);
  process.exit(1);
}
