/**
 * Lab stand-ins shipped as real executables: a TypeScript entry bundled with esbuild into one script and built into a
 * Node single executable application (SEA: the script injected into a copy of the Node binary with postject). Like a
 * release's static cardano-node binary, it needs nothing on the machine but glibc — no Node, no node_modules — so a
 * golden image carries it exactly where a real release's binary would go. Built once per content and cached.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { labCacheDir, withCacheLock } from "./cache";

/** The fuse string Node's SEA loader looks for (Node's documentation, "Single executable applications"). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

export interface StandinBinaryOptions {
  /** The TypeScript (or JavaScript) entry point. */
  readonly entry: string;
  /** Compile-time constants the entry reads (`process.env.X` replaced by the given strings). */
  readonly defines?: Readonly<Record<string, string>>;
  /** The Node binary to build from. @default the one running this process */
  readonly nodeBinary?: string;
}

/** Builds (or finds in the cache) the executable and returns its path. */
export async function standinBinary(options: StandinBinaryOptions): Promise<string> {
  const defines = Object.fromEntries(Object.entries(options.defines ?? {}).map(([k, v]) => [`process.env.${k}`, JSON.stringify(v)]));
  const bundled = await build({
    entryPoints: [options.entry],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    write: false,
    define: defines,
    logLevel: "error",
  });
  const script = bundled.outputFiles[0]!.contents;
  const node = options.nodeBinary ?? process.execPath;
  const key = createHash("sha256").update(script).update(readFileSync(node)).digest("hex").slice(0, 20);
  const out = join(labCacheDir(), "standin-binaries", key);
  const binary = join(out, "standin");
  if (existsSync(binary)) return binary;
  return withCacheLock(`standin-${key}`, async () => {
    if (existsSync(binary)) return binary;
    const staging = `${out}.building`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, "main.cjs"), script);
    writeFileSync(join(staging, "sea-config.json"), JSON.stringify({ main: join(staging, "main.cjs"), output: join(staging, "sea.blob"), disableExperimentalSEAWarning: true }));
    execFileSync(node, ["--experimental-sea-config", join(staging, "sea-config.json")], { stdio: "pipe" });
    const target = join(staging, "standin");
    copyFileSync(node, target);
    chmodSync(target, 0o755);
    // @ts-expect-error postject ships no type declarations
    const { inject } = (await import("postject")) as { inject: (file: string, name: string, blob: Buffer, options: { sentinelFuse: string }) => Promise<void> };
    // postject prints harmless ELF section warnings on stderr; they are not failures.
    await inject(target, "NODE_SEA_BLOB", readFileSync(join(staging, "sea.blob")), { sentinelFuse: SEA_FUSE });
    rmSync(out, { recursive: true, force: true });
    renameSync(staging, out);
    return binary;
  });
}
