/**
 * The one way a changing command holds the pool's lease: taken before the command gathers its facts (so its plan is
 * not made from a pool another operator is changing), renewed while it runs, released in `finally` whatever happens.
 * Dry runs never take it.
 *
 * Signals: while a command's own interruption handling is installed (StepControl: Ctrl-C finishes the step and rolls
 * back), a signal is left to it, and the lease is released on the normal way out. When nothing else listens — before
 * the first step, or SIGTERM, which no command handles — the signal would end the process where it stands: the lease
 * is released first (at most RELEASE_ON_SIGNAL_MS), then the signal is raised again so the process ends as it would
 * have.
 */
import type { AwsTarget } from "../aws/client-config";
import { EXIT_OK, type OpsContext } from "../context";
import { describeLease } from "./describe-lease";
import { HeldLease } from "./held-lease";
import { NO_LEASE, type LeaseGuard } from "./lease-guard";
import { LeaseTable } from "./lease-table";
import { DEFAULT_LEASE_TIMING, SYSTEM_CLOCK, type LeaseClock, type LeaseTiming } from "./lease-timing";
import { recoverUnfinished } from "./recoveries";
import { takeLease } from "./take";
import type { LeaseOptions } from "./wait-option";

export interface LeaseSettings extends LeaseOptions {
  readonly target: AwsTarget;
  /** The pool whose lease it is. */
  readonly pool: string;
  /** What the lease records as its holder's command: `rotate-kes`, `keys import`… */
  readonly command: string;
  /** Dry runs change nothing and take nothing. */
  readonly dryRun?: boolean;
  /** Where the lease's own messages go (waiting, a release that failed): stderr. */
  readonly warn: (text: string) => void;
  readonly timing?: LeaseTiming;
  readonly clock?: LeaseClock;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
const RELEASE_ON_SIGNAL_MS = 3_000;

export async function withLease<T>(settings: LeaseSettings, run: (lease: LeaseGuard) => Promise<T>): Promise<T> {
  if (settings.dryRun) return run(NO_LEASE);
  const timing = settings.timing ?? DEFAULT_LEASE_TIMING;
  const clock = settings.clock ?? SYSTEM_CLOCK;
  const table = new LeaseTable(settings.target, settings.pool);
  let held: HeldLease;
  try {
    const waitSeconds = settings.wait ?? 0;
    const started = clock.now();
    let waited = false;
    const record = await takeLease(table, {
      command: settings.command,
      waitSeconds,
      timing,
      clock,
      onWait: (current) => {
        waited = true;
        settings.warn(`pool-ops: the pool's lease is ${describeLease(current, clock.now())}; waiting up to ${waitSeconds} s for it`);
      },
    });
    if (waited) settings.warn(`pool-ops: took the pool's lease after ${Math.round((clock.now() - started) / 1000)} s`);
    held = new HeldLease(table, record, timing, clock).start();
  } catch (error) {
    table.close();
    throw error;
  }
  const onSignal = (signal: NodeJS.Signals) => {
    // The command's own handling (StepControl) stops it at its next step; the lease goes in `finally` below.
    if (process.listenerCount(signal) > 1) return;
    for (const s of SIGNALS) process.off(s, onSignal);
    settings.warn(`pool-ops: ${signal}: releasing the pool's lease`);
    const timeout = new Promise((resolve) => setTimeout(resolve, RELEASE_ON_SIGNAL_MS).unref());
    void Promise.race([held.release().catch(() => false), timeout]).finally(() => process.kill(process.pid, signal));
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    return await run(held);
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
    try {
      if (!(await held.release())) settings.warn("pool-ops: the pool's lease was no longer this command's at the end (taken over or broken): nothing released");
    } catch (error) {
      settings.warn(`pool-ops: could not release the pool's lease (${(error as Error).message}); it lapses by itself within ${timing.ttlSeconds} s`);
    }
    table.close();
  }
}

/**
 * `withLease` for a command of the CLI: the pool, AWS target (`--aws-endpoint`, …) and dry run from its context. A bad
 * config, inventory or endpoint is refused first, as without the lease, before any request for it.
 */
export async function withPoolLease(ctx: OpsContext, command: string, options: LeaseOptions, run: (lease: LeaseGuard) => Promise<number>): Promise<number> {
  if (ctx.dryRun) return run(NO_LEASE);
  const target = ctx.awsTarget;
  await ctx.inventory();
  return withLease({ target, pool: ctx.config.name, command, wait: options.wait, warn: (text) => ctx.out.warn(text) }, async (lease) => {
    if ((await recoverUnfinished(ctx, command, lease)) === "stop") return EXIT_OK;
    return run(lease);
  });
}
