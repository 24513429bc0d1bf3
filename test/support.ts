/** Helpers shared by the integration tests: temp pool configs, synth into a temp dir, required-tool checks. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { DEFAULT_POOL_CONFIG_PATH } from "../config/load";
import { runCommand } from "../tools/terraform";

export const PROJECT_ROOT = resolve(import.meta.dirname, "..");

const madeTempDirs: string[] = [];

/** A fresh directory under the system's temp dir, removed once the test file ends (vitest.setup.ts). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  madeTempDirs.push(dir);
  return dir;
}

/** Removes every directory tempDir made in this test file. */
export function removeTempDirs(): void {
  for (const dir of madeTempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The default pool with `changes` merged in (top-level keys replaced, nested objects merged one level), as a file. */
export function writePoolConfig(dir: string, changes: Record<string, unknown>): string {
  const base = parse(readFileSync(DEFAULT_POOL_CONFIG_PATH, "utf8")) as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) {
    const current = base[key];
    base[key] =
      value && typeof value === "object" && !Array.isArray(value) && current && typeof current === "object"
        ? { ...(current as object), ...(value as object) }
        : value;
  }
  const path = join(dir, "pool.yaml");
  writeFileSync(path, stringify(base));
  return path;
}

/** `npm run synth` as a user runs it, into `outdir`. */
export async function synth(configPath: string, outdir: string) {
  return runCommand("npx", ["tsx", "main.ts"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, POOL_CONFIG: configPath, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1" },
  });
}

/** In CI a missing tool is a failure; on a developer's machine the test is skipped with this reason. */
export function requireTool(available: boolean, what: string): boolean {
  if (available) return true;
  if (process.env.CI) throw new Error(`${what} is required in CI (.ci/run installs it)`);
  console.warn(`skipped: ${what}`);
  return false;
}

/** A loopback TCP port nobody listens on at this moment (for a server a test starts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
