/**
 * The producers' roles as they are *now*, re-read before each irreversible step of a change: the SSM leader record
 * and each host's own environment file (`NODE_MODE=`, which decides whether its node runs with the active credential
 * paths). A command plans with the roles it read at its start; another operator (one who broke the lease, or an old
 * pool-ops without one) or AWS (a recovered instance) may have moved them since. Writing active credentials onto a
 * host that no longer leads would arm a second forger at its next restart, so a change re-reads the roles and stops
 * when they moved, and a rollback restores each host into the paths of the role it has now.
 */
import { hostLayout, type CredentialFiles } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import { modeOfEnvironmentFile, type NodeMode } from "../../render/node-args";
import type { AwsTarget } from "../aws/client-config";
import { LeaderParameter } from "../aws/leader-parameter";
import type { Connection } from "../remote/connection";
import { OpsError } from "../remote/result";

/** What the SSM record says leads, now. */
export async function recordedLeaderNow(target: AwsTarget, parameterName: string, producers: readonly string[]): Promise<string> {
  const parameter = new LeaderParameter(target, parameterName, [...producers]);
  try {
    return await parameter.read();
  } finally {
    parameter.close();
  }
}

/** The mode the host's environment file sets for its node, now; undefined when the file is missing or says none. */
export async function hostModeNow(config: PoolConfig, c: Connection): Promise<NodeMode | undefined> {
  const text = await c.readText(hostLayout(config).environmentFile, { step: "read the node's mode" });
  return text === undefined ? undefined : modeOfEnvironmentFile(text);
}

/** Where a producer in `mode` keeps its pair: the active paths when it leads, the held ones otherwise. */
export function credentialFilesFor(config: PoolConfig, mode: NodeMode | undefined): CredentialFiles {
  const layout = hostLayout(config);
  return mode === "leader" ? layout.activeCredentials : layout.heldCredentials;
}

/**
 * Throws when the pool's roles are no longer what the command planned with: the record names another leader, or the
 * host's own mode is not the one it had. `step` names the irreversible step about to run.
 */
export async function assertRolesUnchanged(
  config: PoolConfig,
  aws: AwsTarget,
  parameterName: string,
  producers: readonly string[],
  expectedLeader: string,
  host: { readonly name: string; readonly connection: Connection; readonly isLeader: boolean },
  step: string,
): Promise<void> {
  const leaderNow = await recordedLeaderNow(aws, parameterName, producers);
  if (leaderNow !== expectedLeader) {
    throw new OpsError(host.name, step, `the leader changed during the command: the SSM record now names ${leaderNow}, not ${expectedLeader}`, "someone promoted meanwhile (pool-ops lock status, the audit log); nothing more is written, what was written is put back");
  }
  const mode = await hostModeNow(config, host.connection);
  const expected: NodeMode = host.isLeader ? "leader" : "standby";
  if (mode !== expected) {
    throw new OpsError(host.name, step, `${host.name}'s node now runs as ${mode ?? "nothing (no NODE_MODE)"}, not as the ${expected} it was`, "its role changed during the command (a promotion, a fence); nothing more is written, what was written is put back");
  }
}
