/**
 * Reads, on a node host (or the sandbox), what its installed release ships for the pool's network: the files under
 * `<share>/<network>/`, the release's config and topology, and the hash of each genesis file (ops/pool/release-facts.py,
 * run with the host's python3) — and, when asked, the host's installed config.json. One SSH command per host.
 */
import { readFileSync } from "node:fs";
import { hostLayout } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import { ReleaseFactsSchema, type ReleaseFacts } from "../../render/release-files";
import type { Connection } from "../remote/connection";
import { OpsError } from "../remote/result";
import { shellQuote } from "../remote/shell";

const SCRIPT = readFileSync(new URL("./release-facts.py", import.meta.url), "utf8");

/** `<share>/<network>` of the host's installed release. */
export function releaseNetworkDir(config: PoolConfig): string {
  return `${hostLayout(config).releaseShareDir}/${config.network}`;
}

export interface ReadReleaseFactsOptions {
  /** Also read this installed config.json (the genesis files it names, its age against the running node's). */
  readonly installedConfig?: string;
}

export async function readReleaseFacts(c: Connection, config: PoolConfig, options: ReadReleaseFactsOptions = {}): Promise<ReleaseFacts> {
  const dir = releaseNetworkDir(config);
  const installed = options.installedConfig === undefined ? "" : ` ${shellQuote(options.installedConfig)}`;
  const r = await c.run(`command -v python3 >/dev/null || { echo "python3 is missing (every Debian cloud image has it)" >&2; exit 69; }\nexec python3 - ${shellQuote(dir)} ${shellQuote(`${config.node.binDir}/cardano-node`)}${installed}`, {
    stdin: SCRIPT,
    // The installed config.json is root's, readable by the node's group only (config/host-layout.ts nodeFileModes);
    // the release's share directory is readable by all.
    sudo: options.installedConfig !== undefined,
    step: "read the installed release's node files",
    label: `read ${dir}`,
  });
  if (r.exitCode !== 0) throw new OpsError(c.name, "read the release's node files", `reading ${dir} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}`, "check the host's image (pool-ops image bake installs the release's node files)");
  try {
    return ReleaseFactsSchema.parse(JSON.parse(r.stdout.toString()));
  } catch (error) {
    throw new OpsError(c.name, "read the release's node files", `unexpected answer reading ${dir}: ${(error as Error).message}`, "check python3 on the host");
  }
}
