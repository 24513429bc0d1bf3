/**
 * A lease this process holds: renewed every `renewEveryMs` while the command runs (each renewal conditional on the
 * token), released at the end (a conditional delete: a lease that is no longer ours is left alone).
 *
 * The command learns when it may no longer hold it, by `assertHeld()` before each irreversible step:
 * - for good, when a renewal finds another token there (taken over after it expired, or broken with `lock break`) or
 *   no lease at all — `signal` aborts then;
 * - for now, when renewals have failed (AWS unreachable) until close to the last expiry AWS confirmed: another
 *   operator may take it from then on. A later renewal that succeeds proves nobody did (a taker replaces the token),
 *   and the lease is held again.
 */
import { describeLease } from "./describe-lease";
import { LeaseLost } from "./lease-errors";
import type { LeaseGuard } from "./lease-guard";
import { epochSeconds, type LeaseRecord } from "./lease-record";
import type { LeaseTable } from "./lease-table";
import { LeaseTableJournal, type PoolJournal } from "./pool-journal";
import { DEFAULT_LEASE_TIMING, SYSTEM_CLOCK, type LeaseClock, type LeaseTiming } from "./lease-timing";

export class HeldLease implements LeaseGuard {
  private readonly controller = new AbortController();
  private lost: string | undefined;
  private released = false;
  /** The expiry (ms) of the last take or renewal AWS accepted. */
  private confirmedUntilMs: number;
  private lastFailure: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private releasing: Promise<boolean> | undefined;
  readonly journal: PoolJournal;

  constructor(
    private readonly table: LeaseTable,
    readonly record: LeaseRecord,
    private readonly timing: LeaseTiming = DEFAULT_LEASE_TIMING,
    private readonly clock: LeaseClock = SYSTEM_CLOCK,
  ) {
    this.confirmedUntilMs = record.expiresAt * 1000;
    this.journal = new LeaseTableJournal(table);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Starts renewing in the background. The timer does not keep the process alive: the command's own work does. */
  start(): this {
    this.schedule();
    return this;
  }

  private schedule(): void {
    if (this.released || this.lost) return;
    this.timer = setTimeout(() => {
      this.renewing = this.renew().finally(() => {
        this.renewing = undefined;
        this.schedule();
      });
    }, this.timing.renewEveryMs);
    this.timer.unref();
  }

  /** One renewal now. Resolves whatever happens; what it learnt is what `assertHeld` reports. */
  async renew(): Promise<void> {
    if (this.released || this.lost) return;
    const expiresAt = epochSeconds(this.clock.now()) + this.timing.ttlSeconds;
    try {
      if (await this.table.extend(this.record.token, expiresAt)) {
        this.confirmedUntilMs = expiresAt * 1000;
        this.lastFailure = undefined;
        return;
      }
    } catch (error) {
      this.lastFailure = (error as Error).message;
      return;
    }
    const now = await this.table.read().catch(() => undefined);
    this.loseForGood(now ? `the pool's lease was taken over: it is now ${describeLease(now, this.clock.now())}` : "the pool's lease was broken (pool-ops lock break) or removed");
  }

  private loseForGood(reason: string): void {
    this.lost = reason;
    if (this.timer) clearTimeout(this.timer);
    this.controller.abort(new LeaseLost(reason));
  }

  assertHeld(): void {
    if (this.lost) throw new LeaseLost(this.lost);
    if (this.released) throw new LeaseLost("the pool's lease was released (interrupted)");
    const now = this.clock.now();
    if (now >= this.confirmedUntilMs - this.timing.heldMarginMs) {
      const until = new Date(this.confirmedUntilMs).toISOString().slice(11, 19);
      throw new LeaseLost(
        `the pool's lease could not be renewed${this.lastFailure ? ` (${this.lastFailure})` : ""}: it lapses at ${until} UTC, after which another operator may take it`,
      );
    }
  }

  /**
   * Stops renewing and deletes the lease if it is still ours. True when released; false when it was not ours any
   * more (taken over, broken): then nothing is deleted. Called again, it answers as the first time.
   */
  release(): Promise<boolean> {
    this.releasing ??= (async () => {
      this.released = true;
      if (this.timer) clearTimeout(this.timer);
      await this.renewing;
      if (this.lost) return false;
      try {
        return await this.table.deleteIfHeldBy(this.record.token);
      } finally {
        this.controller.abort(new LeaseLost("the pool's lease was released"));
      }
    })();
    return this.releasing;
  }
}
