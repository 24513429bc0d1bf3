#!/usr/bin/env node
// The pool-ops executable: runs the CLI's esbuild bundle (bin/bundle.mjs: rebuilt whenever a source changed), or the
// TypeScript sources through tsx when no bundle can be built. Started by an unsupported Node (a machine's older
// /usr/bin/node, reached through `npm link`), it runs itself again on the project's portable Node when setup
// installed one, and otherwise refuses, saying what to install.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { isSupportedNode, portableNode, SUPPORTED_NODE } from "./node-runtime.mjs";

if (!isSupportedNode(process.versions.node)) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  let binary;
  try {
    binary = portableNode(root).binary;
  } catch (error) {
    process.stderr.write(`pool-ops: needs ${SUPPORTED_NODE}; ${process.execPath} is ${process.version} (${error.message}), or install Node 24 LTS\n`);
    process.exit(2);
  }
  const child = spawn(binary, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  // Signals sent to this process go to the one doing the work (a second Ctrl-C from the terminal, which signals both,
  // changes nothing: pool-ops records an interruption once). Its outcome, exit code or signal, becomes this one's.
  const forwarded = ["SIGINT", "SIGTERM", "SIGHUP", "SIGUSR2"];
  for (const signal of forwarded) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    if (code !== null) process.exit(code);
    for (const s of forwarded) process.removeAllListeners(s);
    process.kill(process.pid, signal);
  });
} else {
  const { bundledCli } = await import("./bundle.mjs");
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
}
