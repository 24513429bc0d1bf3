#!/usr/bin/env node
// The pool-ops executable: runs the CLI's esbuild bundle (bin/bundle.mjs: rebuilt whenever a source changed), or the
// TypeScript sources through tsx when no bundle can be built.
import { bundledCli } from "./bundle.mjs";

const bundle = await bundledCli();
if (bundle) {
  const { main } = await import(bundle);
  await main(process.argv);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import("../ops/cli.ts");
  await main(process.argv);
}
