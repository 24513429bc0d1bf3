/**
 * Switching a producer between forging and standing by, through the files the node reads (config/host-layout.ts):
 * the credentials move between the active paths (the node's flags name them) and the held ones, the environment file
 * is rewritten for the role (so a later restart keeps it), and a SIGHUP makes the node re-read its credentials
 * (cardano-node ≥ 8.7.2: files gone → forging off; files valid → forging on).
 */
import { hostLayout, type CredentialFiles } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import { nodeEnvironmentFile } from "../../render/node-args";
import { awsClientSettings, type AwsTarget } from "../aws/client-config";
import type { Connection } from "../remote/connection";
import { shellQuote } from "../remote/shell";
import { metricValue, readNodeMetrics } from "./node-metrics";

/** Moves the three credential files from one set of paths to the other (each a rename on one filesystem). */
export function moveCredentialsScript(from: CredentialFiles, to: CredentialFiles, user: string, group: string): string {
  const q = shellQuote;
  const dirOf = (p: string) => p.slice(0, p.lastIndexOf("/"));
  const lines = ["set -eu", `install -d -m 0700 -o ${q(user)} -g ${q(group)} ${q(dirOf(to.kesKey))}`];
  for (const key of ["kesKey", "vrfKey", "opcert"] as const) {
    // Already moved (a resumed run) is fine; missing at both ends is not.
    lines.push(`if [ -e ${q(from[key])} ]; then mv -f ${q(from[key])} ${q(to[key])}; elif [ ! -e ${q(to[key])} ]; then echo "missing ${from[key]}" >&2; exit 66; fi`);
  }
  return lines.join("\n");
}

export async function forgingState(config: PoolConfig, c: Connection): Promise<number | undefined> {
  const metrics = await readNodeMetrics(c, hostLayout(config).nodeConfig, config.node.metricsPort);
  return metrics ? metricValue(metrics, "forging_enabled") : undefined;
}

async function pollForging(config: PoolConfig, c: Connection, want: 0 | 1, timeoutMs: number): Promise<number | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const state = await forgingState(config, c).catch(() => undefined);
    if (state === want || Date.now() > until) return state;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Applies a role change: credentials, environment file, SIGHUP (restart on nodes that cannot reload credentials). */
async function switchRole(config: PoolConfig, c: Connection, role: "leader" | "standby"): Promise<void> {
  const layout = hostLayout(config);
  const [from, to] = role === "leader" ? [layout.heldCredentials, layout.activeCredentials] : [layout.activeCredentials, layout.heldCredentials];
  await c.runChecked(moveCredentialsScript(from, to, config.node.user, config.node.group), { step: `move credentials (${role})`, label: "move the credential files" });
  await c.put(layout.environmentFile, nodeEnvironmentFile(config, role), { owner: config.node.user, group: config.node.group, mode: 0o640, backup: false, step: "write the environment file" });
  await c.runChecked(config.node.service.restart, { step: "restart" });
}

/** Fences over SSH: credentials away, SIGHUP, confirmed when the node reports forging 0. */
export async function fenceOverSsh(config: PoolConfig, c: Connection): Promise<{ confirmed: boolean; forging: number | undefined }> {
  await switchRole(config, c, "standby");
  const forging = await pollForging(config, c, 0, 5_000);
  return { confirmed: forging === 0, forging };
}

/** Promotes over SSH: credentials in, SIGHUP, confirmed when the node reports forging 1. */
export async function promoteOverSsh(config: PoolConfig, c: Connection): Promise<{ confirmed: boolean; forging: number | undefined }> {
  await switchRole(config, c, "leader");
  const forging = await pollForging(config, c, 1, 10_000);
  return { confirmed: forging === 1, forging };
}

/** Fences through AWS: a forced stop of the instance, confirmed when EC2 says `stopped`. */
export async function fenceByStoppingInstance(target: AwsTarget, instanceId: string, timeoutMs = 180_000): Promise<{ confirmed: boolean; detail: string }> {
  const { DescribeInstancesCommand, EC2Client, StopInstancesCommand } = await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client(awsClientSettings(target));
  try {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId], Force: true }));
    const until = Date.now() + timeoutMs;
    for (;;) {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      const state = out.Reservations?.[0]?.Instances?.[0]?.State?.Name ?? "unknown";
      if (state === "stopped") return { confirmed: true, detail: `instance ${instanceId} stopped` };
      if (Date.now() > until) return { confirmed: false, detail: `instance ${instanceId} still ${state} after ${timeoutMs / 1000} s` };
      await new Promise((r) => setTimeout(r, 1000));
    }
  } catch (error) {
    return { confirmed: false, detail: `stopping ${instanceId} failed: ${(error as Error).message}` };
  } finally {
    ec2.destroy();
  }
}
