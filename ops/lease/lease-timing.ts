/**
 * How long a lease lasts and how often it is renewed. A lease lasts 120 s from its last renewal and is renewed every
 * 30 s, so three renewals in a row may fail (AWS briefly unreachable) before anyone else can take it. Holders compare
 * expiry times written by another machine's clock: the operators' clocks must agree to well within the 90 s between a
 * renewal's expiry and the next one's (NTP keeps them within milliseconds).
 */
export interface LeaseTiming {
  /** A take or renewal holds the lease this long. */
  readonly ttlSeconds: number;
  /** Renew this often while the command runs. */
  readonly renewEveryMs: number;
  /**
   * `assertHeld` refuses this long before the last confirmed expiry: a step should not start on a lease about to
   * lapse unrenewed.
   */
  readonly heldMarginMs: number;
  /** With `--wait`, look again this often. */
  readonly pollMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { ttlSeconds: 120, renewEveryMs: 30_000, heldMarginMs: 15_000, pollMs: 2_000 };

/** Time as the lease sees it (tests give their own). */
export interface LeaseClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: LeaseClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
