/**
 * The node files an installed cardano-node release ships for the pool's network (`<share>/<network>/`, see
 * config/host-layout.ts), as pool-ops reads them from a host (ops/pool/release-facts.ts), and the checks that a host's
 * release can run this pool: the files the version line ships are there, its config names the pool's genesis hashes,
 * and the genesis files hash to them. Pure: the reading is elsewhere.
 */
import { z } from "zod";
import { nodeVersionLine } from "../config/node-versions";
import type { PoolConfig } from "../config/schema";
import type { JsonObject } from "./json-merge";
import { NETWORK_NODE_DATA, type GenesisHashes } from "./network-data";

export const GENESIS_ERAS = ["Byron", "Shelley", "Alonzo", "Conway"] as const;

const GenesisHashesSeenSchema = z.object({ Byron: z.string().optional(), Shelley: z.string().optional(), Alonzo: z.string().optional(), Conway: z.string().optional() });

/** The host's installed config.json, when release-facts.py was asked for it (`pool-ops status`). */
export const InstalledConfigFactsSchema = z.object({
  path: z.string(),
  config: z.record(z.string(), z.unknown()).nullable(),
  /** The genesis files the installed config names, hashed as the node checks them. */
  hashes: GenesisHashesSeenSchema,
  errors: z.array(z.string()),
  /** Seconds since the epoch (file mtime); null when unreadable. */
  modifiedAt: z.number().nullable(),
  /** Wall-clock start, in seconds since the epoch, of the running node given this file; null when none runs. */
  nodeStartedAt: z.number().nullable(),
});
export type InstalledConfigFacts = z.infer<typeof InstalledConfigFactsSchema>;

/** What ops/pool/release-facts.py prints. */
export const ReleaseFactsSchema = z.object({
  dir: z.string(),
  present: z.array(z.string()),
  config: z.record(z.string(), z.unknown()).nullable(),
  topology: z.record(z.string(), z.unknown()).nullable(),
  hashes: GenesisHashesSeenSchema,
  errors: z.array(z.string()),
  /** What `<binDir>/cardano-node --version` reports; null without the binary (nothing to compare). */
  nodeVersion: z.string().nullable().optional(),
  installed: InstalledConfigFactsSchema.optional(),
});
export type ReleaseFacts = z.infer<typeof ReleaseFactsSchema>;

/** A release that passed `checkRelease`: its config and topology, ready to be overlaid. */
export interface ReleaseNodeFiles {
  readonly dir: string;
  readonly config: JsonObject;
  readonly topology: JsonObject;
}

/** The hashes the pool's nodes must run with: `node.genesisHashes`, else the network's published ones. */
export function expectedGenesisHashes(config: Pick<PoolConfig, "network" | "node">): GenesisHashes {
  return config.node.genesisHashes ?? NETWORK_NODE_DATA[config.network].genesisHashes;
}

/**
 * The files a release document names by a relative path in its top-level `…File` keys — the same keys
 * render/json-merge.ts rebases onto the release's directory: the genesis files, `CheckpointsFile` (mainnet and preview;
 * cardano-node `Protocol/Checkpoints.hs` `readCheckpointsMap` reads it at startup and stops when it cannot),
 * `peerSnapshotFile`. Absolute paths point outside the release and are not its to ship.
 */
function namedFiles(document: Record<string, unknown> | null): string[] {
  if (!document) return [];
  return Object.entries(document).flatMap(([key, value]) => (/File$/.test(key) && typeof value === "string" && value !== "" && !value.startsWith("/") ? [value] : []));
}

/** Every reason this release cannot run the pool (empty when it can). */
export function releaseProblems(config: Pick<PoolConfig, "network" | "node">, facts: ReleaseFacts): string[] {
  const problems = [...facts.errors];
  const line = nodeVersionLine(config.node.version);
  if (facts.nodeVersion) {
    // The node runs what is installed: its line decides which config keys it needs and which flags it has.
    const installed = /^(\d+\.\d+)\./.exec(facts.nodeVersion)?.[1];
    if (installed !== line.line) problems.push(`the host runs cardano-node ${facts.nodeVersion}, but node.version is ${config.node.version} (line ${line.line}.x)`);
  }
  const missing = line.shareFiles.filter((f) => !facts.present.includes(f));
  if (missing.length > 0) problems.push(`${facts.dir} lacks ${missing.join(", ")} (cardano-node ${line.line}.x ships them)`);
  const named = [...namedFiles(facts.config), ...namedFiles(facts.topology)].filter((f) => !line.shareFiles.includes(f) && !facts.present.includes(f));
  if (named.length > 0) problems.push(`${facts.dir} lacks ${[...new Set(named)].join(", ")}, which its own config.json or topology.json names (the node reads it at startup)`);
  const expected = expectedGenesisHashes(config);
  for (const era of GENESIS_ERAS) {
    const named = facts.config?.[`${era}GenesisHash`];
    if (facts.config && named !== expected[era]) problems.push(`its config.json names ${era}GenesisHash ${String(named)}, the pool's ${config.network} genesis is ${expected[era]}`);
    const actual = facts.hashes[era];
    if (facts.config && actual !== undefined && actual !== expected[era]) problems.push(`its ${era} genesis file hashes to ${actual}, expected ${expected[era]}`);
  }
  return [...new Set(problems)];
}

/** The release's files once they pass; throws with every problem otherwise. */
export function checkedRelease(config: Pick<PoolConfig, "network" | "node">, facts: ReleaseFacts): ReleaseNodeFiles {
  const problems = releaseProblems(config, facts);
  if (problems.length > 0 || !facts.config || !facts.topology) throw new ReleaseFilesError(facts.dir, problems);
  return { dir: facts.dir, config: facts.config as JsonObject, topology: facts.topology as JsonObject };
}

export class ReleaseFilesError extends Error {
  override name = "ReleaseFilesError";
  constructor(
    readonly dir: string,
    readonly problems: readonly string[],
  ) {
    super(`the installed release cannot run this pool (${dir}): ${problems.join("; ")}`);
  }
}
