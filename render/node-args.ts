/**
 * The command line cardano-node runs with on each host, by role and (producers) by whether it leads. The unit's
 * EnvironmentFile carries it as `NODE_ARGS`, so switching a producer between leading and standing by rewrites one
 * small file and never the unit.
 */
import { hostLayout } from "../config/host-layout";
import type { PoolConfig } from "../config/schema";

/** relay; producer that forges (leader); producer that stands by non-producing (standby). */
export type NodeMode = "relay" | "leader" | "standby";

type Version = readonly [number, number, number];

function parseVersion(version: string): Version {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new Error(`node.version: expected a version such as 10.5.1, got ${JSON.stringify(version)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function atLeast(v: Version, min: Version): boolean {
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return (v[i] as number) > (min[i] as number);
  return true;
}

/**
 * The non-producing flag of a node version: `--start-as-non-producing-node` from 10.5.1, `--non-producing-node`
 * from 8.2 to 10.5.0, none before 8.2 (older nodes only stand by when started without credentials).
 */
export function nonProducingFlag(nodeVersion: string): string | undefined {
  const v = parseVersion(nodeVersion);
  if (atLeast(v, [10, 5, 1])) return "--start-as-non-producing-node";
  if (atLeast(v, [8, 2, 0])) return "--non-producing-node";
  return undefined;
}

/** Whether SIGHUP makes this node version re-read its forging credentials (8.7.2 and later). */
export function reloadsCredentialsOnSighup(nodeVersion: string): boolean {
  return atLeast(parseVersion(nodeVersion), [8, 7, 2]);
}

export interface NodeArgsOptions {
  /** Address the node listens on for peers. @default "0.0.0.0" */
  readonly hostAddr?: string;
}

/** cardano-node `run` arguments for a host in the given mode. */
export function nodeRunArgs(config: PoolConfig, mode: NodeMode, options: NodeArgsOptions = {}): string[] {
  const layout = hostLayout(config);
  const args = [
    "--config", layout.nodeConfig,
    "--topology", layout.topology,
    "--database-path", layout.database,
    "--socket-path", layout.socket,
    "--host-addr", options.hostAddr ?? "0.0.0.0",
    "--port", String(config.relays.port),
  ];
  if (mode === "relay") return args;
  const flag = nonProducingFlag(config.node.version);
  // A standby of a node older than 8.2 has no flag: it stands by because it is started without credentials.
  if (mode === "standby" && !flag) return args;
  args.push(
    "--shelley-kes-key", layout.activeCredentials.kesKey,
    "--shelley-vrf-key", layout.activeCredentials.vrfKey,
    "--shelley-operational-certificate", layout.activeCredentials.opcert,
  );
  if (mode === "standby" && flag) args.push(flag);
  return args;
}

/** The unit's EnvironmentFile text. */
export function nodeEnvironmentFile(config: PoolConfig, mode: NodeMode, options: NodeArgsOptions = {}): string {
  return [
    `# cardano-node arguments (${mode}); written by pool-ops from the pool config. Changes restart the node.`,
    `NODE_ARGS="${nodeRunArgs(config, mode, options).join(" ")}"`,
    "",
  ].join("\n");
}
