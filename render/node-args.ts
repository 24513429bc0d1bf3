/**
 * The command line cardano-node runs with on each host, by role and (producers) by whether it leads. The unit's
 * EnvironmentFile carries it as `NODE_ARGS`, so switching a producer between leading and standing by rewrites one
 * small file and never the unit.
 *
 * Only the leader's command line names credentials. A node started with the three credential flags reads all three
 * files at startup and exits if one is missing, and once started it turns forging on at a SIGHUP whenever the files
 * are present — `--start-as-non-producing-node` included (cardano-node `Run.hs` @11.0.1: `runNode` reads the
 * protocol files through `mkConsensusProtocol`; `installSigHUPHandler` → `updateBlockForging`). So the standby runs
 * with no credential flag at all: no file it holds and no SIGHUP can ever make it forge. config/host-layout.ts has
 * the whole design.
 */
import { hostLayout } from "../config/host-layout";
import { nodeVersionLine } from "../config/node-versions";
import type { PoolConfig } from "../config/schema";

/** relay; producer that forges (leader); producer that stands by, with no credentials on its command line. */
export type NodeMode = "relay" | "leader" | "standby";

export interface NodeArgsOptions {
  /** Address the node listens on for peers. @default "0.0.0.0" */
  readonly hostAddr?: string;
}

/** cardano-node `run` arguments for a host in the given mode. */
export function nodeRunArgs(config: PoolConfig, mode: NodeMode, options: NodeArgsOptions = {}): string[] {
  const layout = hostLayout(config);
  const line = nodeVersionLine(config.node.version);
  const args = [
    "--config", layout.nodeConfig,
    "--topology", layout.topology,
    "--database-path", layout.database,
    "--socket-path", layout.socket,
    "--host-addr", options.hostAddr ?? "0.0.0.0",
    "--port", String(config.relays.port),
  ];
  if (mode !== "leader") return args;
  const flags = line.credentialFlags;
  return [
    ...args,
    flags.kesKey, layout.activeCredentials.kesKey,
    flags.vrfKey, layout.activeCredentials.vrfKey,
    flags.opcert, layout.activeCredentials.opcert,
  ];
}

/** The unit's EnvironmentFile text. */
export function nodeEnvironmentFile(config: PoolConfig, mode: NodeMode, options: NodeArgsOptions = {}): string {
  return [
    `# cardano-node arguments (${mode}); written by pool-ops from the pool config. Changes restart the node.`,
    `NODE_MODE=${mode}`,
    `NODE_ARGS="${nodeRunArgs(config, mode, options).join(" ")}"`,
    "",
  ].join("\n");
}

/** The mode an environment file says (`NODE_MODE=`), undefined when it says none. */
export function modeOfEnvironmentFile(text: string): NodeMode | undefined {
  const m = /^NODE_MODE=(relay|leader|standby)$/m.exec(text);
  return m ? (m[1] as NodeMode) : undefined;
}
