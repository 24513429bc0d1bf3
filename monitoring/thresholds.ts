/**
 * Alert thresholds, one source for the Prometheus rules and `pool-ops status`, so the screen and the pager agree.
 * KES thresholds are in KES periods (1.5 days each on mainnet, preprod and preview): warning under 7 periods
 * (about 10 days, IOG's first warning), critical under 2 (about 3 days).
 */
export const THRESHOLDS = {
  kesPeriodsWarning: 7,
  kesPeriodsCritical: 2,
  /** Slots behind the relays' best tip. */
  maxSlotLag: 120,
  minRelayPeers: 5,
  minProducerPeers: 2,
  /** Free fraction of a filesystem. */
  minDiskFree: 0.1,
  /** Available fraction of memory. */
  minMemoryAvailable: 0.1,
  /** Seconds of clock offset (NTP). */
  maxClockSkewSeconds: 0.05,
} as const;
