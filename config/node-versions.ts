/**
 * The cardano-node release lines this pool supports, as data: one row per line with what the rest of the project
 * must know about it (flags, required config keys, tracing, ledger backends, archive name, the files a release ships
 * under `share/<network>/`). Every fact cites the upstream file at the tag it was read at.
 *
 * Sources (IntersectMBO/cardano-node unless said otherwise):
 * - 11.0.x: tag 11.0.1 (of 2026-05-04, commit 97036a66b).
 * - 11.1.x: NO 11.1 TAG EXISTS in the stored copy of the repository read for this table (re-checked for node 11.1.3,
 *   the default): its release tags end at 11.0.0 and 11.0.1 (before them 10.7.1, 10.7.0, 10.6.4 … 10.0.0-pre), its
 *   newest commit is of 2026-07-24, and even the release-preparation branch `f-f/prepare-11.1` (head bd10b9115,
 *   2026-07-24; 202 commits after 11.0.1) still says `version: 11.0.1` in `cardano-node/cardano-node.cabal`. Every
 *   11.1 fact below was re-read at that branch head: `Protocol/Cardano.hs` `mkSomeConsensusProtocolCardano`,
 *   `Parsers.hs` (`parseProtocolFiles`, `parseStartAsNonProducingNode`), `Configuration/POM.hs` (`parseByronProtocol`,
 *   `parseAlonzoProtocol`, `parseConwayProtocol`, the `LedgerDB` parser, no `TurnOnLogMetrics`/`UseTraceDispatcher`),
 *   `Run.hs` `handleNodeWithTracers` (the legacy tracing branch removed), `.github/workflows/release-upload.yaml`,
 *   `nix/binary-release.nix` `writeConfig`. The releases themselves were cut later from commits not in the stored copy
 *   (11.1.1 from c2ebdc87d, per IntersectMBO/cardano-haskell-packages#1455 of 2026-09-04; 11.1.2 and 11.1.3 with no
 *   commit named in the stored material), so every 11.1 row must still be re-checked at the tag of the release baked.
 * - 10.5.x and older are not supported: they cannot follow protocol version 11 (see `RETIRED_LINES`).
 */

/** The Cardano protocol's major version a node line can follow, and why. */
export interface ProtocolSupport {
  /** Highest major protocol version the node validates (blocks announcing a higher one are refused). */
  readonly maxMajor: number;
  /** `cardano-node/src/Cardano/Node/Protocol/Cardano.hs`, `mkSomeConsensusProtocolCardano`: `cardanoProtocolVersion`. */
  readonly source: string;
}

export type LedgerBackend = "V2InMemory" | "V2LSM" | "V1LMDB";

export interface NodeVersionLine {
  /** `major.minor`, e.g. "11.1". */
  readonly line: string;
  /** The tag (or branch) the row was read at. */
  readonly readAt: string;
  readonly protocol: ProtocolSupport;
  /**
   * The flag that starts a node with credentials but without forging (`Parsers.hs`, `parseStartAsNonProducingNode`).
   * The pool does not use it: its standby runs without credential flags (config/host-layout.ts says why).
   */
  readonly nonProducingFlag: "--start-as-non-producing-node";
  /** The three credential flags (`Parsers.hs`, `parseProtocolFiles`); read at startup, the node exits if one is missing. */
  readonly credentialFlags: { readonly kesKey: "--shelley-kes-key"; readonly vrfKey: "--shelley-vrf-key"; readonly opcert: "--shelley-operational-certificate" };
  /** KES keys from a kes-agent instead of a file (`Parsers.hs`, `--shelley-kes-agent-socket`). */
  readonly kesAgentSocketFlag?: "--shelley-kes-agent-socket";
  /**
   * Keys a config file must have or the node stops while parsing it (`Configuration/POM.hs`: `parseByronProtocol`
   * `.:` on LastKnownBlockVersion-Major/-Minor, `parseAlonzoProtocol`/`parseConwayProtocol` `.:` on their genesis
   * files, `makeNodeConfiguration` "Missing LogMetrics" where TurnOnLogMetrics has no default).
   */
  readonly requiredConfigKeys: readonly string[];
  /**
   * `trace-dispatcher` only (legacy tracing removed), or both with the new system the default (`POM.hs`:
   * `UseTraceDispatcher .!= True`).
   */
  readonly tracing: "trace-dispatcher" | "trace-dispatcher (legacy still selectable)";
  /** `POM.hs`, the `LedgerDB` `Backend` parser: accepted values. */
  readonly ledgerBackends: readonly LedgerBackend[];
  /** Release archive name for Linux x86-64 (`.github/workflows/release-upload.yaml`, `linux-amd64`). */
  readonly archiveName: (version: string) => string;
  /**
   * The files of `share/<network>/` the pool needs, which the release ships for every network (`nix/binary-release.nix`,
   * `writeConfig`): config, topology (its `peerSnapshotFile` set to the snapshot beside it), the peer snapshot and the
   * four genesis files. The release also ships `submit-api-config.json` and `tracer-config.json` (the pool runs neither
   * service) and, where the network's iohk-nix config names a `CheckpointsFile` (mainnet and preview at iohk-nix
   * 9de0011), `checkpoints.json`; that one is required through the config naming it (render/release-files.ts).
   */
  readonly shareFiles: readonly string[];
  /** Metric names (new tracing, prefix `cardano.node.metrics.`, PrometheusSimple `suffix`): what the pool reads. */
  readonly metrics: {
    /** `Tracing/Tracers/Startup.hs`, `asMetrics (BlockForgingUpdate …)`: 1 enabled, 0 disabled or NotEffective. */
    readonly forgingEnabled: "forging_enabled";
    /** `Tracing/Tracers/Consensus.hs`, `asMetrics (TraceStartLeadershipCheck …)`: one per slot while forging runs. */
    readonly aboutToLead: "Forge_about_to_lead";
    readonly nodeIsLeader: "Forge_node_is_leader";
    readonly forged: "Forge_forged";
  };
}

const CREDENTIAL_FLAGS = { kesKey: "--shelley-kes-key", vrfKey: "--shelley-vrf-key", opcert: "--shelley-operational-certificate" } as const;
const METRICS = { forgingEnabled: "forging_enabled", aboutToLead: "Forge_about_to_lead", nodeIsLeader: "Forge_node_is_leader", forged: "Forge_forged" } as const;
const GENESIS_AND_PEERS = ["byron-genesis.json", "shelley-genesis.json", "alonzo-genesis.json", "conway-genesis.json", "peer-snapshot.json"];
const BASE_REQUIRED_KEYS = ["ByronGenesisFile", "ShelleyGenesisFile", "AlonzoGenesisFile", "ConwayGenesisFile", "LastKnownBlockVersion-Major", "LastKnownBlockVersion-Minor"];
const linuxAmd64 = (version: string) => `cardano-node-${version}-linux-amd64.tar.gz`;

export const NODE_VERSION_LINES: readonly NodeVersionLine[] = [
  {
    line: "11.1",
    readAt: "branch f-f/prepare-11.1 @bd10b9115 (the stored copy has no 11.1 tag: its newest are 11.0.0 and 11.0.1)",
    // Protocol/Cardano.hs: ProtVer 11 0 unless ExperimentalHardForksEnabled (then 12, not for mainnet).
    protocol: { maxMajor: 11, source: "cardano-node/src/Cardano/Node/Protocol/Cardano.hs mkSomeConsensusProtocolCardano @f-f/prepare-11.1" },
    nonProducingFlag: "--start-as-non-producing-node",
    credentialFlags: CREDENTIAL_FLAGS,
    kesAgentSocketFlag: "--shelley-kes-agent-socket",
    // POM.hs @f-f/prepare-11.1: TurnOnLogMetrics and UseTraceDispatcher are no longer read (Run.hs
    // handleNodeWithTracers has only the trace-dispatcher path; cardano-node/src/Cardano/Tracing/ is gone).
    requiredConfigKeys: BASE_REQUIRED_KEYS,
    tracing: "trace-dispatcher",
    // POM.hs @f-f/prepare-11.1: "V2InMemory" | "V2LSM" (V1LMDB removed: commit 7acde74ca "nix: remove lmdb").
    ledgerBackends: ["V2InMemory", "V2LSM"],
    archiveName: linuxAmd64,
    // nix/binary-release.nix @f-f/prepare-11.1: config-legacy.json no longer shipped (its nodeConfigLegacy is gone).
    shareFiles: ["config.json", "topology.json", ...GENESIS_AND_PEERS],
    metrics: METRICS,
  },
  {
    line: "11.0",
    readAt: "tag 11.0.1",
    // Protocol/Cardano.hs @11.0.1: the first line that follows protocol version 11 (10.5.1 stops at ProtVer 10 3).
    protocol: { maxMajor: 11, source: "cardano-node/src/Cardano/Node/Protocol/Cardano.hs mkSomeConsensusProtocolCardano @11.0.1" },
    nonProducingFlag: "--start-as-non-producing-node",
    credentialFlags: CREDENTIAL_FLAGS,
    kesAgentSocketFlag: "--shelley-kes-agent-socket",
    // POM.hs @11.0.1 makeNodeConfiguration: `lastToEither "Missing LogMetrics"`, and no default for it.
    requiredConfigKeys: [...BASE_REQUIRED_KEYS, "TurnOnLogMetrics"],
    tracing: "trace-dispatcher (legacy still selectable)",
    ledgerBackends: ["V2InMemory", "V2LSM", "V1LMDB"],
    archiveName: linuxAmd64,
    shareFiles: ["config.json", "config-legacy.json", "topology.json", ...GENESIS_AND_PEERS],
    metrics: METRICS,
  },
];

/** Lines that exist upstream but cannot run a pool any more, with the reason given to the operator. */
export const RETIRED_LINES: Readonly<Record<string, string>> = {
  "10.5": "10.5.x validates protocol versions up to 10 (Protocol/Cardano.hs @10.5.1: ProtVer 10 3) and cannot follow the protocol-version-11 hard fork",
  // Protocol/Cardano.hs @10.6.4 / @10.7.1: ProtVer 10 7 / 10 8 (11 only behind ExperimentalHardForksEnabled).
  "10.6": "10.6.x validates protocol versions up to 10 (11 only as an experimental hard fork) and cannot follow the protocol-version-11 hard fork",
  "10.7": "10.7.x validates protocol versions up to 10 (11 only as an experimental hard fork) and cannot follow the protocol-version-11 hard fork",
};

export class NodeVersionError extends Error {
  override name = "NodeVersionError";
}

/** The row of a node version (`11.1.3` → the 11.1 line); throws naming `node.version` for anything unsupported. */
export function nodeVersionLine(version: string): NodeVersionLine {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new NodeVersionError(`node.version: expected a version such as 11.1.3, got ${JSON.stringify(version)}`);
  const line = `${m[1]}.${m[2]}`;
  const row = NODE_VERSION_LINES.find((r) => r.line === line);
  if (row) return row;
  const supported = NODE_VERSION_LINES.map((r) => `${r.line}.x`).join(", ");
  const retired = RETIRED_LINES[line];
  throw new NodeVersionError(`node.version ${version}: ${retired ?? "not a supported cardano-node line"} (supported: ${supported})`);
}

/** Whether a version string names a supported line (for schema refinements that report their own message). */
export function isSupportedNodeVersion(version: string): boolean {
  try {
    nodeVersionLine(version);
    return true;
  } catch {
    return false;
  }
}
