// The pool-ops CLI as one pre-built file (and its cold-key signer as another). Transpiling and resolving ~150
// modules with tsx on every run costs a few hundred milliseconds, paid by each command an operator types; an esbuild
// bundle of the same sources starts in a fraction of that. It lives in node_modules/.cache/pool-ops/ and is rebuilt
// (in ~0.5 s) whenever one of its input files changed, so it never runs code older than the checkout. Plain
// JavaScript: it must run before any TypeScript can. Anything unusual (no esbuild, read-only node_modules) returns
// undefined and the caller falls back to tsx.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CACHE = join(ROOT, "node_modules", ".cache", "pool-ops");
const OUT = join(CACHE, "cli.mjs");
// The cold-key signer (ops/cold-signer/child.ts), a process of its own: built beside the CLI, from the same sources
// in the same build, and named to the CLI's launcher through `define` (ops/cold-signer/launch.ts).
const SIGNER_OUT = join(CACHE, "cold-signer.mjs");
const MANIFEST = join(CACHE, "manifest.json");

// Left to Node's own loader: ssh2 carries optional native addons, and the AWS SDK clients load lazily (first use).
const EXTERNAL = ["node-ssh", "ssh2", "@aws-sdk/*", "@smithy/*", "tsx", "esbuild"];

const stamp = (file) => {
  const s = statSync(file);
  return `${s.size}:${s.mtimeMs}`;
};

function isFresh() {
  try {
    const manifest = JSON.parse(readFileSync(MANIFEST, "utf8"));
    if (manifest.root !== ROOT || manifest.node !== process.version) return false;
    statSync(OUT);
    statSync(SIGNER_OUT);
    return Object.entries(manifest.inputs).every(([file, was]) => stamp(join(ROOT, file)) === was);
  } catch {
    return false;
  }
}

/** Each source keeps its own import.meta.url, so files it reads beside itself (templates, the default pool) resolve. */
const ownImportMetaUrl = {
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${join("node_modules", "")}`)) return undefined;
      const source = readFileSync(args.path, "utf8");
      return { contents: source.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)), loader: "ts" };
    });
  },
};

async function build() {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: { cli: join(ROOT, "ops", "cli.ts"), "cold-signer": join(ROOT, "ops", "cold-signer", "child.ts") },
    outdir: CACHE,
    outExtension: { ".js": ".mjs" },
    define: { __POOL_OPS_COLD_SIGNER_BUNDLE__: JSON.stringify(SIGNER_OUT) },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    write: false,
    metafile: true,
    logLevel: "silent",
    external: EXTERNAL,
    plugins: [ownImportMetaUrl],
    // Bundled CommonJS packages call require() for Node's built-ins: give the ES module one.
    banner: { js: 'import { createRequire as __poolOpsCreateRequire } from "node:module"; const require = __poolOpsCreateRequire(import.meta.url);' },
  });
  mkdirSync(CACHE, { recursive: true });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) inputs[relative(ROOT, join(ROOT, file))] = stamp(join(ROOT, file));
  // Written aside then renamed: two commands building at once each leave a whole file.
  for (const output of result.outputFiles) {
    const tmp = `${output.path}.${process.pid}.tmp`;
    writeFileSync(tmp, output.contents);
    renameSync(tmp, output.path);
  }
  const tmpManifest = `${MANIFEST}.${process.pid}.tmp`;
  writeFileSync(tmpManifest, JSON.stringify({ root: ROOT, node: process.version, inputs }));
  renameSync(tmpManifest, MANIFEST);
}

/** The bundled CLI's file URL, built or rebuilt as needed; undefined when it cannot be (use tsx instead). */
export async function bundledCli() {
  if (process.env.POOL_OPS_NO_BUNDLE === "1") return undefined;
  try {
    if (!isFresh()) await build();
    return pathToFileURL(OUT).href;
  } catch (error) {
    if (process.env.POOL_OPS_DEBUG) process.stderr.write(`pool-ops: no bundle (${error.message}); running through tsx\n`);
    return undefined;
  }
}
