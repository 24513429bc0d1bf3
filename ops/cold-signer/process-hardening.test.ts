/**
 * What the signer child does to itself before reading the key, on this machine's kernel: run as root,
 * becomeNonDumpableAsRoot leaves no core file where the same process without it leaves one (core_pattern writing into
 * the working directory, a small core size limit so that the control's core is a few KB).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support";

const corePattern = (() => {
  try {
    return readFileSync("/proc/sys/kernel/core_pattern", "utf8").trim();
  } catch {
    return "";
  }
})();
// A plain file name: the kernel writes the core into the crashing process's working directory.
const coresInWorkingDirectory = corePattern !== "" && !corePattern.startsWith("|") && !corePattern.includes("/");
const root = process.geteuid?.() === 0;
const hardening = pathToFileURL(join(import.meta.dirname, "process-hardening.ts")).href;
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

describe.skipIf(!root || !coresInWorkingDirectory)("the signer child's hardening, as root", () => {
  const dir = tempDir("pool-ops-dumpable");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Files left in a fresh directory by a Node process that aborts after `before` (core size limit 32 KB). */
  function leftByAbort(name: string, before: string): string[] {
    const cwd = join(dir, name);
    mkdirSync(cwd);
    const script = `import(${JSON.stringify(hardening)}).then((m) => { ${before}; process.abort(); })`;
    spawnSync("/bin/sh", ["-c", 'ulimit -c 64 && exec "$0" "$@"', process.execPath, "--import", tsx, "-e", script], { cwd, stdio: "ignore" });
    return readdirSync(cwd);
  }

  it("leaves no core dump where the same process without it leaves one", () => {
    expect(leftByAbort("control", "void m").length).toBe(1);
    expect(leftByAbort("hardened", "m.becomeNonDumpableAsRoot()")).toEqual([]);
  });
});
