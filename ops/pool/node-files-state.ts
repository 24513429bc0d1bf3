/**
 * Whether a node runs what the pool says it should, from one read of the host (ops/pool/release-facts.ts with the
 * installed config): its `config.json` is the installed release's config plus the pool's overlay (render/node-config.ts,
 * the same composition push-config and the boot write), the node was started after that file last changed, and the
 * genesis files that config names hash to the pool's network data (render/release-files.ts `expectedGenesisHashes`),
 * which the config also names as its `…GenesisHash` — what cardano-node checks at startup. Pure.
 */
import { isDeepStrictEqual } from "node:util";
import type { PoolConfig } from "../../config/schema";
import { RenderError, renderNodeConfig, type RenderHost } from "../../render/node-config";
import { checkedRelease, expectedGenesisHashes, GENESIS_ERAS, ReleaseFilesError, releaseProblems, type ReleaseFacts } from "../../render/release-files";

export interface NodeFilesState {
  /** The host's config.json equals the release's config plus the pool's overlay, key for key (order aside). */
  readonly configMatches: boolean;
  /** Top-level keys where it differs from that composition (empty when it matches or cannot be composed). */
  readonly differingKeys: readonly string[];
  /** The running node started before config.json last changed: it runs an older file until restarted. */
  readonly restartPending: boolean;
  /** Every genesis file the config names hashes to the pool's, and the config names the pool's hashes. */
  readonly genesisMatches: boolean;
  /** What is wrong, each with its remedy; empty when all three hold. */
  readonly problems: readonly string[];
}

/**
 * The slack allowed between a file's mtime and the node's start: /proc gives start times in clock ticks (10 ms), and
 * push-config writes the file before it restarts the node, so a later mtime by more than this is a real change.
 */
const START_TIME_PRECISION_SECONDS = 0.05;

export function nodeFilesState(config: PoolConfig, host: RenderHost, facts: ReleaseFacts): NodeFilesState {
  const installed = facts.installed;
  if (!installed) throw new Error("nodeFilesState: the facts were read without the installed config (readReleaseFacts installedConfig)");
  const problems: string[] = [];
  const push = `(pool-ops push-config --hosts ${host.name})`;

  let configMatches = false;
  let differingKeys: string[] = [];
  const release = releaseProblems(config, facts);
  if (release.length > 0) problems.push(`its installed release cannot run this pool: ${release.join("; ")}`);
  else if (!installed.config) problems.push(`its config.json cannot be read: ${installed.errors.join("; ")} ${push}`);
  else {
    try {
      const expected = renderNodeConfig(config, host, checkedRelease(config, facts));
      const keys = [...new Set([...Object.keys(expected), ...Object.keys(installed.config)])].sort();
      differingKeys = keys.filter((key) => !isDeepStrictEqual(expected[key], installed.config![key]));
      configMatches = differingKeys.length === 0;
      if (!configMatches) problems.push(`its config.json is not the release's config plus the pool's overlay (differs at ${differingKeys.join(", ")}) ${push}`);
    } catch (error) {
      if (!(error instanceof RenderError || error instanceof ReleaseFilesError)) throw error;
      problems.push(error.message);
    }
  }

  const restartPending = installed.modifiedAt !== null && installed.nodeStartedAt !== null && installed.modifiedAt > installed.nodeStartedAt + START_TIME_PRECISION_SECONDS;
  if (restartPending) problems.push(`its node started before config.json last changed and runs an older one: restart it (pool-ops push-config restarts after a change)`);

  const expected = expectedGenesisHashes(config);
  const genesis: string[] = [];
  for (const era of GENESIS_ERAS) {
    const named = installed.config?.[`${era}GenesisHash`];
    if (named !== expected[era]) genesis.push(`config.json names ${era}GenesisHash ${String(named)}`);
    const actual = installed.hashes[era];
    if (actual !== expected[era]) genesis.push(actual === undefined ? `its ${era} genesis file cannot be read` : `its ${era} genesis file hashes to ${actual}`);
  }
  const genesisMatches = installed.config !== null && genesis.length === 0;
  if (installed.config && !genesisMatches) problems.push(`genesis: ${genesis.join("; ")}; the pool's ${config.network} genesis is ${GENESIS_ERAS.map((e) => `${e} ${expected[e].slice(0, 8)}…`).join(", ")}${installed.errors.length > 0 ? ` (${installed.errors.join("; ")})` : ""}`);

  return { configMatches, differingKeys, restartPending, genesisMatches, problems };
}
