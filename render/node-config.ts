/**
 * A host's `config.json`: the installed release's own `share/<network>/config.json` (render/release-files.ts) plus
 * this overlay, the pool's few decisions, applied as a JSON Merge Patch (render/json-merge.ts):
 * - metrics: the PrometheusSimple backend bound to the host's private address (the release binds 127.0.0.1), where
 *   only the monitoring host's security group reaches it; EKG kept; the `Forwarder` backend dropped (the pool runs no
 *   cardano-tracer); stdout in MachineFormat (JSON lines for journald), not the release's coloured human format;
 * - `PeerSharing: false` on both producers: since 10.6 the node derives it from its forging status, and a standby
 *   runs without credentials, so it would otherwise share its relays' addresses like a relay;
 * - `LedgerDB.Backend` from `node.ledgerBackend` (the release's other LedgerDB settings kept);
 * - `TraceOptionNodeName`: the host's name in every log line.
 * Everything else — protocol versions, genesis files and hashes, consensus mode, checkpoints — is the release's.
 */
import { nodeVersionLine } from "../config/node-versions";
import type { PoolConfig } from "../config/schema";
import { composeNodeFile, type JsonObject } from "./json-merge";
import type { ReleaseNodeFiles } from "./release-files";

/** A host as rendering needs it (the inventory's shape). */
export interface RenderHost {
  readonly name: string;
  readonly role: string;
  readonly privateIp: string;
}

export class RenderError extends Error {
  override name = "RenderError";
}

export function nodeConfigOverlay(config: PoolConfig, host: RenderHost): JsonObject {
  return {
    TraceOptionNodeName: host.name,
    TraceOptions: {
      "": { backends: ["EKGBackend", `PrometheusSimple suffix ${host.privateIp} ${config.node.metricsPort}`, "Stdout MachineFormat"] },
      // The Forge counters are how pool-ops confirms forging (ops/pool/forging.ts): keep the loop's traces on.
      "Forge.Loop": { severity: "Info" },
    },
    LedgerDB: { Backend: config.node.ledgerBackend },
    ...(host.role === "producer" ? { PeerSharing: false } : {}),
  };
}

/** The composed config, refused when it lacks a key the node line requires (it would stop while parsing it). */
export function renderNodeConfig(config: PoolConfig, host: RenderHost, release: ReleaseNodeFiles): JsonObject {
  const composed = composeNodeFile(release.config, release.dir, nodeConfigOverlay(config, host));
  const line = nodeVersionLine(config.node.version);
  const missing = line.requiredConfigKeys.filter((key) => composed[key] === undefined || composed[key] === null);
  if (missing.length > 0) {
    throw new RenderError(`${host.name}: ${release.dir}/config.json lacks ${missing.join(", ")}, which cardano-node ${line.line}.x requires (Configuration/POM.hs): is the installed release ${config.node.version}?`);
  }
  return composed;
}
