/**
 * Test tooling: both producers' forging state (their node's forging metric, read over SSH as `pool-ops status` reads
 * it), sampled while a drill changes the pool — an instance stopped, changed or replaced gets new host keys or none for
 * a while: the sampler reconnects and counts an unreadable producer as not forging. `gaps` are the stretches in which
 * no producer forged: a rollout may leave one, the promotion.
 */
import type { PoolConfig } from "../config/schema";
import { forgingState } from "../ops/pool/producer-role";
import type { Fleet } from "../ops/remote/fleet";
import { labFleet } from "./harness";
import type { LabState } from "./lab";

export interface ForgingSample {
  readonly at: number;
  /** Per producer, in the order given: the forging metric, undefined when unreadable. */
  readonly forging: readonly (number | undefined)[];
}

/** Consecutive samples with no producer forging: when it began and ended (first and last such sample). */
export interface ForgingGap {
  readonly from: number;
  readonly to: number;
}

export class ForgingSampler {
  readonly samples: ForgingSample[] = [];
  lastError: unknown;
  private fleet: Fleet;
  private reconnecting: Promise<void> | undefined;
  private running: Promise<void> | undefined;
  private sampling = false;

  constructor(
    private readonly lab: LabState,
    private readonly config: PoolConfig,
    fleet: Fleet,
    readonly producers: readonly string[] = ["producer-1", "producer-2"],
  ) {
    this.fleet = fleet;
  }

  /** One producer's forging state; on a failed read, one reconnection (a replaced host has new keys) and a retry. */
  async read(host: string): Promise<number | undefined> {
    try {
      const state = await forgingState(this.config, this.fleet.connection(host));
      if (state !== undefined) return state;
      this.lastError = `${host}: no metrics through the open connection`;
    } catch (error) {
      this.lastError = error;
    }
    // One reconnection at a time: both producers are read at once.
    this.reconnecting ??= (async () => {
      await this.fleet.close().catch(() => undefined);
      this.fleet = await labFleet(this.lab);
    })().finally(() => (this.reconnecting = undefined));
    await this.reconnecting;
    return forgingState(this.config, this.fleet.connection(host)).catch((again: unknown) => {
      this.lastError = again;
      return undefined;
    });
  }

  start(intervalMs = 100): void {
    this.sampling = true;
    this.running = (async () => {
      while (this.sampling) {
        this.samples.push({ at: Date.now(), forging: await Promise.all(this.producers.map((p) => this.read(p))) });
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  async stop(): Promise<readonly ForgingSample[]> {
    this.sampling = false;
    await this.running;
    return this.samples;
  }

  async close(): Promise<void> {
    await this.fleet.close().catch(() => undefined);
  }
}

/** Samples in which more than one producer forged (two producers with the same keys fork the chain). */
export function bothForging(samples: readonly ForgingSample[]): ForgingSample[] {
  return samples.filter((s) => s.forging.filter((f) => f === 1).length > 1);
}

/** The stretches of consecutive samples in which no producer forged. */
export function forgingGaps(samples: readonly ForgingSample[]): ForgingGap[] {
  const gaps: ForgingGap[] = [];
  let open: { from: number; to: number } | undefined;
  for (const s of samples) {
    if (s.forging.includes(1)) {
      if (open) gaps.push(open);
      open = undefined;
    } else open = { from: open?.from ?? s.at, to: s.at };
  }
  if (open) gaps.push(open);
  return gaps;
}
