/**
 * Is a producer forging? Read from its node's metrics, never from one gauge alone: cardano-node issues #6113 (10.1.4)
 * and #6576 (11.0.1) report `forging_enabled` reading 1 on a node that does not forge, and at startup the node
 * announces the forging it *will* do before its ledger replay ends (`Run.hs` @11.0.1 `handleNodeWithTracers`: the
 * initial `BlockForgingUpdate`), while a SIGHUP during the replay reads 0 (`NotEffective`) on a node that will forge.
 * So the gauge is cross-checked with the Forge loop's counters: `Forge.about-to-lead` counts every slot the forging
 * loop runs (`Tracing/Tracers/Consensus.hs`, `TraceStartLeadershipCheck`), which happens only once forging really runs.
 *
 * - forging: the gauge says 1 AND the counter advanced while the wall clock moved at least one slot;
 * - not forging: the gauge says 0 AND the counter did not advance while the wall clock moved `QUIET_SLOTS` slots;
 * - startup done: the node reports its chain's slot (`slotNum`, traced when the ChainDB adopts a block, i.e. after
 *   the replay: `Tracing/Tracers/ChainDB.hs` `AddedToCurrentChain`).
 */
import { hostLayout } from "../../config/host-layout";
import { NETWORKS } from "../../config/networks";
import { nodeVersionLine } from "../../config/node-versions";
import type { PoolConfig } from "../../config/schema";
import { slotAt } from "../cardano";
import type { Connection } from "../remote/connection";
import { metricValue, readNodeMetrics, type NodeMetrics } from "./node-metrics";

/** Slots the forging loop must stay silent for a "not forging" to count. */
export const QUIET_SLOTS = 3;

export interface ForgingReading {
  /** The wall clock's slot when read. */
  readonly wallSlot: number;
  /** undefined: the node does not answer. */
  readonly metrics: boolean;
  readonly forgingEnabled?: number | undefined;
  readonly aboutToLead: number;
  readonly chainSlot?: number | undefined;
}

export type ForgingVerdict = "forging" | "not forging" | "unknown";

export function readingOf(config: PoolConfig, metrics: NodeMetrics | undefined, now = new Date()): ForgingReading {
  const names = nodeVersionLine(config.node.version).metrics;
  const wallSlot = slotAt(now, config.network);
  if (!metrics) return { wallSlot, metrics: false, aboutToLead: 0 };
  return {
    wallSlot,
    metrics: true,
    forgingEnabled: metricValue(metrics, names.forgingEnabled),
    aboutToLead: metricValue(metrics, names.aboutToLead) ?? 0,
    chainSlot: metricValue(metrics, "slotNum"),
  };
}

export async function readForging(config: PoolConfig, c: Connection): Promise<ForgingReading> {
  const metrics = await readNodeMetrics(c, hostLayout(config).nodeConfig, config.node.metricsPort).catch(() => undefined);
  return readingOf(config, metrics);
}

/** The verdict two readings (first, then later) allow. */
export function verdict(first: ForgingReading, later: ForgingReading): ForgingVerdict {
  if (!first.metrics || !later.metrics) return "unknown";
  const slots = later.wallSlot - first.wallSlot;
  const advanced = later.aboutToLead > first.aboutToLead;
  if (later.forgingEnabled === 1 && advanced && slots >= 1) return "forging";
  if (later.forgingEnabled === 0 && !advanced && slots >= QUIET_SLOTS) return "not forging";
  return "unknown";
}

function pollIntervalMs(config: PoolConfig): number {
  return Math.max(100, Math.min(1000, (NETWORKS[config.network].shelleySlotLengthSeconds * 1000) / 4));
}

/**
 * Polls until the node's readings show `want`, or the deadline. Returns the verdict last reached and what was read.
 * A restarted node's first readings may come before its metrics answer: the window starts at the first answer.
 */
export async function confirmForging(config: PoolConfig, c: Connection, want: "forging" | "not forging", timeoutMs: number): Promise<{ confirmed: boolean; verdict: ForgingVerdict; last: ForgingReading }> {
  const until = Date.now() + timeoutMs;
  let first: ForgingReading | undefined;
  let last = await readForging(config, c);
  for (;;) {
    if (last.metrics) {
      if (!first) first = last;
      const v = verdict(first, last);
      if (v === want) return { confirmed: true, verdict: v, last };
      // A contradicting reading restarts the window (the counter moved while we wait for quiet, say).
      if (want === "not forging" && (last.forgingEnabled !== 0 || last.aboutToLead > first.aboutToLead)) first = last;
    } else first = undefined;
    if (Date.now() > until) return { confirmed: false, verdict: first ? verdict(first, last) : "unknown", last };
    await new Promise((r) => setTimeout(r, pollIntervalMs(config)));
    last = await readForging(config, c);
  }
}

/** Polls until the node has finished starting (it reports its chain's slot), or the deadline. */
export async function waitStartupDone(config: PoolConfig, c: Connection, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const reading = await readForging(config, c);
    if (reading.chainSlot !== undefined) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, pollIntervalMs(config)));
  }
}

/** Has the node finished starting, now (one reading)? */
export async function startupDone(config: PoolConfig, c: Connection): Promise<boolean> {
  return (await readForging(config, c)).chainSlot !== undefined;
}
