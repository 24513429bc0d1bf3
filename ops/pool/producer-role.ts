/**
 * Switching a producer between leading and standing by (config/host-layout.ts has the design): the environment file
 * is rewritten for the mode (the standby's names no credentials), the credentials move between the active paths and
 * the held ones, and the node is RESTARTED — a restart re-reads everything, so it takes effect whether or not the
 * node had finished starting, where a SIGHUP during startup is NotEffective and a node started as a producer forges
 * once its startup ends. Then the outcome is confirmed on the node's metrics (ops/pool/forging.ts).
 *
 * Order matters when fencing: the standby environment is written before the credentials move, so from the first step
 * on no restart — ours, systemd's Restart=on-failure, a reboot — can start the node with credential flags.
 */
import { hostLayout, nodeFileModes, type CredentialFiles } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import { nodeEnvironmentFile } from "../../render/node-args";
import { awsClientSettings, type AwsTarget } from "../aws/client-config";
import type { Connection } from "../remote/connection";
import { OpsError } from "../remote/result";
import { confirmForging, readForging, waitStartupDone, type ForgingReading, type ForgingVerdict } from "./forging";

/**
 * Moves the three credential files from one set of paths to the other, each a rename on one filesystem by
 * ops/remote/safe-files.py: a link at either end or on the way is refused, never followed (`mv -f A B` moves A *into*
 * the directory a link at B names). The directories are made when missing (root's, the node's group:
 * config/host-layout.ts); existing ones keep their owner and mode. Already moved (a resumed run) is fine; missing at
 * both ends is not.
 */
export async function moveCredentials(config: PoolConfig, c: Connection, from: CredentialFiles, to: CredentialFiles, step: string): Promise<void> {
  const keys = ["kesKey", "vrfKey", "opcert"] as const;
  const { missing } = await c.moveFiles(keys.map((key) => ({ from: from[key], to: to[key] })), { ...nodeFileModes(config).readOnlyDir, step });
  if (missing) throw new OpsError(c.name, step, `missing ${missing}`, "check the producer's credential files (pool-ops kes status); its next boot fetches them from Secrets Manager (the leader guard)");
}

/** Forging as the metrics gauge says it (for reports; decisions use ops/pool/forging.ts). */
export async function forgingState(config: PoolConfig, c: Connection): Promise<number | undefined> {
  const reading = await readForging(config, c);
  return reading.metrics ? reading.forgingEnabled : undefined;
}

async function writeEnvironment(config: PoolConfig, c: Connection, mode: "leader" | "standby"): Promise<void> {
  const layout = hostLayout(config);
  await c.put(layout.environmentFile, nodeEnvironmentFile(config, mode), { ...nodeFileModes(config).readOnlyFile, backup: false, step: `write the ${mode} environment` });
}

export interface RoleChange {
  readonly confirmed: boolean;
  readonly verdict: ForgingVerdict;
  readonly last: ForgingReading;
  readonly detail: string;
}

/**
 * Fences over SSH: standby environment, credentials to the held paths, restart; confirmed when the restarted node is
 * seen not forging (gauge 0, Forge loop silent for a few slots).
 */
export async function fenceOverSsh(config: PoolConfig, c: Connection, timeoutMs = 60_000): Promise<RoleChange> {
  const layout = hostLayout(config);
  await writeEnvironment(config, c, "standby");
  await moveCredentials(config, c, layout.activeCredentials, layout.heldCredentials, "hold the credentials aside");
  await c.runChecked(config.node.service.restart, { step: "restart as standby" });
  const r = await confirmForging(config, c, "not forging", timeoutMs);
  return { ...r, detail: r.confirmed ? "restarted as standby, not forging" : `restarted as standby, but not confirmed not forging (${describe(r.last)})` };
}

/**
 * Makes a producer the leader over SSH: credentials into the active paths, leader environment, restart; confirmed
 * when its startup is done and it is seen forging (gauge 1 and the Forge loop counting slots).
 */
export async function promoteOverSsh(config: PoolConfig, c: Connection, timeoutMs: number): Promise<RoleChange> {
  const layout = hostLayout(config);
  await moveCredentials(config, c, layout.heldCredentials, layout.activeCredentials, "move the credentials in");
  await writeEnvironment(config, c, "leader");
  await c.runChecked(config.node.service.restart, { step: "restart as leader" });
  const started = Date.now();
  const done = await waitStartupDone(config, c, timeoutMs);
  const r = await confirmForging(config, c, "forging", done ? Math.max(5_000, timeoutMs - (Date.now() - started)) : 0);
  return { ...r, detail: r.confirmed ? "restarted as leader, forging" : `${done ? "started" : "still starting"}, not confirmed forging (${describe(r.last)})` };
}

/**
 * Fences a leader by every means there is: over SSH (restart as standby, confirmed not forging), else by a forced
 * stop of its instance through EC2. `fencedBy` says which took; `unfenced` with the reasons when neither did.
 */
export async function fenceLeader(
  config: PoolConfig,
  aws: AwsTarget,
  c: Connection,
  instanceId: string,
  timeoutMs: number,
  warn: (text: string) => void,
): Promise<{ fencedBy: "ssh" | "ec2" | "unfenced"; detail: string }> {
  let detail: string;
  try {
    const fenced = await fenceOverSsh(config, c, timeoutMs);
    if (fenced.confirmed) return { fencedBy: "ssh", detail: fenced.detail };
    detail = `over SSH: ${fenced.detail}`;
  } catch (error) {
    detail = `over SSH: ${(error as Error).message}`;
  }
  warn(`${c.name}: not fenced ${detail}; stopping its instance ${instanceId} through EC2 (forced)`);
  const stopped = await fenceByStoppingInstance(aws, instanceId);
  return stopped.confirmed ? { fencedBy: "ec2", detail: stopped.detail } : { fencedBy: "unfenced", detail: `${detail}; through EC2: ${stopped.detail}` };
}

export function describe(reading: ForgingReading): string {
  if (!reading.metrics) return "no metrics";
  return `forging_enabled ${reading.forgingEnabled ?? "absent"}, Forge about-to-lead ${reading.aboutToLead}, chain slot ${reading.chainSlot ?? "none yet"}`;
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
