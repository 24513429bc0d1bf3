/**
 * Is a node healthy enough for a roll to go on: its metrics answer, its tip is within `maxSlotLag` slots of the slot
 * the wall clock says (the network's genesis), and it has at least `minPeers` connected peers. Shared by push-config's
 * rolling order and anything else that must not move on while a node is down.
 */
import { hostLayout } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import { slotAt } from "../cardano";
import type { Connection } from "../remote/connection";
import { metricValue, readNodeMetrics } from "./node-metrics";

export interface NodeHealth {
  readonly healthy: boolean;
  readonly slot?: number | undefined;
  readonly lag?: number | undefined;
  readonly peers?: number | undefined;
  readonly problem?: string;
}

export async function nodeHealth(config: PoolConfig, c: Connection, now = new Date()): Promise<NodeHealth> {
  let metrics;
  try {
    metrics = await readNodeMetrics(c, hostLayout(config).nodeConfig, config.node.metricsPort);
  } catch (error) {
    return { healthy: false, problem: `unreachable: ${(error as Error).message}` };
  }
  if (!metrics) return { healthy: false, problem: "the node does not answer on its metrics port" };
  const slot = metricValue(metrics, "slotNum");
  const peers = metricValue(metrics, "connectedPeers") ?? metricValue(metrics, "peers");
  const lag = slot === undefined ? undefined : slotAt(now, config.network) - slot;
  const { maxSlotLag, minPeers } = config.pushConfig;
  if (slot === undefined || lag === undefined) return { healthy: false, peers, problem: "the node reports no slot" };
  if (lag > maxSlotLag) return { healthy: false, slot, lag, peers, problem: `not synced: ${lag} slots behind (limit ${maxSlotLag})` };
  if ((peers ?? 0) < minPeers) return { healthy: false, slot, lag, peers, problem: `${peers ?? 0} connected peers (need ${minPeers})` };
  return { healthy: true, slot, lag, peers };
}

/** Polls until healthy or the deadline; returns the last reading. */
export async function waitHealthy(config: PoolConfig, c: Connection, timeoutMs: number): Promise<NodeHealth> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const health = await nodeHealth(config, c);
    if (health.healthy || Date.now() > until) return health;
    await new Promise((r) => setTimeout(r, 500));
  }
}
