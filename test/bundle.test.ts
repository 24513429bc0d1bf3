/**
 * The pool-ops executable runs an esbuild bundle of the CLI (bin/bundle.mjs). What must hold: it is rebuilt when a
 * source changes (never older code than the checkout), it starts without loading the AWS SDK or ssh2 (they load on
 * first use), and files read beside a module (the embedded default pool) still resolve from the bundle. Started by
 * an unsupported Node (Debian's Node 20 on this kind of machine, reached through `npm link`), it runs on the project's.
 * The cold-key signer child is bundled with it, and the bundled CLI starts the bundled signer.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain JavaScript module without type declarations
import { bundledCli } from "../bin/bundle.mjs";
import { isSupportedNode, portableNodePackage, projectPortableNode } from "../tools/runtime";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const manifestPath = join(ROOT, "node_modules", ".cache", "pool-ops", "manifest.json");

describe("the bundled pool-ops", () => {
  it("is built from the sources and rebuilt when one of them changes", async () => {
    const url = (await bundledCli()) as string;
    expect(url).toMatch(/node_modules\/\.cache\/pool-ops\/cli\.mjs$/);
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { inputs: Record<string, string> };
    expect(Object.keys(manifest.inputs)).toContain("ops/commands/agent.ts");
    const source = join(ROOT, "ops", "output.ts");
    const before = statSync(source);
    const builtAt = statSync(fileURLToPath(url)).mtimeMs;
    try {
      const later = new Date(Date.now() + 5_000);
      utimesSync(source, later, later);
      await bundledCli();
      expect(statSync(fileURLToPath(url)).mtimeMs).toBeGreaterThan(builtAt);
      expect(JSON.parse(readFileSync(manifestPath, "utf8")).inputs["ops/output.ts"]).toBe(`${statSync(source).size}:${statSync(source).mtimeMs}`);
    } finally {
      utimesSync(source, before.atime, before.mtime);
    }
  });

  it("does not load the AWS SDK or ssh2 when it starts", async () => {
    const url = (await bundledCli()) as string;
    const code = readFileSync(fileURLToPath(url), "utf8");
    const staticImports = [...code.matchAll(/^import\s[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]);
    expect(staticImports.length).toBeGreaterThan(0);
    expect(staticImports.filter((m) => /^(@aws-sdk|@smithy|node-ssh|ssh2)/.test(m!))).toEqual([]);
  });

  it("runs: the embedded default pool resolves from the bundle", () => {
    const env = { ...process.env };
    delete env.POOL_CONFIG;
    // A release missing from the config is a config error naming the file read: the embedded default pool.
    const run = spawnSync(process.execPath, [join(ROOT, "bin", "pool-ops.mjs"), "image", "bake", "--node-version", "0.0.1", "--dry-run"], { cwd: ROOT, encoding: "utf8", env });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${join(ROOT, "config", "default-pool.yaml")}: invalid pool config`);
    expect(run.stderr).toMatch(/image\.nodeReleases has no entry for cardano-node 0\.0\.1/);
  });

  it("builds the cold-key signer beside the CLI, and the CLI starts that one", async () => {
    const url = (await bundledCli()) as string;
    const signer = join(ROOT, "node_modules", ".cache", "pool-ops", "cold-signer.mjs");
    expect(readFileSync(fileURLToPath(url), "utf8")).toContain(JSON.stringify(signer));
    // It runs from the bundle: core dumps off, it reads its request (malformed here) and replies on stdout.
    const run = spawnSync("/bin/sh", ["-c", 'ulimit -c 0 && exec "$0" "$@"', process.execPath, signer], { input: "{}", encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
    expect(run.status, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ ok: false, failure: "refused", message: "the request names no AWS region" });
  });

  // Node 20 is what this kind of machine has as /usr/bin/node; elsewhere there may be no older Node to start it with.
  const machineNode = "/usr/bin/node";
  const machineNodeVersion = existsSync(machineNode) ? spawnSync(machineNode, ["--version"], { encoding: "utf8" }).stdout.trim() : "";
  it.runIf(machineNodeVersion !== "" && !isSupportedNode(machineNodeVersion) && portableNodePackage() !== undefined)(
    "started by an unsupported Node, runs itself on the portable Node and keeps the exit code",
    () => {
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '--import "data:text/javascript,process.stderr.write(`pool-ops-node=${process.version};`)"' };
      delete env.POOL_CONFIG;
      const run = spawnSync(machineNode, [join(ROOT, "bin", "pool-ops.mjs"), "image", "bake", "--node-version", "0.0.1", "--dry-run"], { cwd: ROOT, encoding: "utf8", env });
      expect(run.stderr).toContain(`pool-ops-node=${machineNodeVersion};`);
      expect(run.stderr).toContain(`pool-ops-node=v${projectPortableNode().version};`);
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/image\.nodeReleases has no entry for cardano-node 0\.0\.1/);
    },
  );
});
