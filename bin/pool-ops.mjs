#!/usr/bin/env node
// The pool-ops executable: registers tsx (TypeScript without a build step) and runs the CLI.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../ops/cli.ts");
await main(process.argv);
