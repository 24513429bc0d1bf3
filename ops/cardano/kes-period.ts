/**
 * KES periods from wall-clock time. slot = shelleyStartSlot + (t − shelleyStartTime) / slotLength for
 * times in the Shelley-based eras; KES period = floor(slot / slotsPerKESPeriod) (cardano-ledger
 * `kesPeriod`). A certificate starting at period p is valid for periods [p, p + maxKESEvolutions).
 */
import { NETWORKS, type CardanoNetwork, type NetworkGenesis } from "../../config/networks";
import { KeyMaterialError } from "./errors";

function genesisOf(network: CardanoNetwork | NetworkGenesis): NetworkGenesis {
  return typeof network === "string" ? NETWORKS[network] : network;
}

/** Slot number at `time` (Shelley-based eras only). */
export function slotAt(time: Date, network: CardanoNetwork | NetworkGenesis): number {
  const g = genesisOf(network);
  const seconds = Math.floor(time.getTime() / 1000);
  if (Number.isNaN(seconds)) throw new RangeError("invalid date");
  if (seconds < g.shelleyStartUnix) {
    throw new RangeError(`${time.toISOString()} is before the Shelley era of this network`);
  }
  return g.shelleyStartSlot + Math.floor((seconds - g.shelleyStartUnix) / g.shelleySlotLengthSeconds);
}

/** Wall-clock start of a (Shelley-era) slot. */
export function slotStart(slot: number, network: CardanoNetwork | NetworkGenesis): Date {
  const g = genesisOf(network);
  if (slot < g.shelleyStartSlot) throw new RangeError(`slot ${slot} is before the Shelley era of this network`);
  return new Date((g.shelleyStartUnix + (slot - g.shelleyStartSlot) * g.shelleySlotLengthSeconds) * 1000);
}

/** KES period at `time`. */
export function kesPeriodAt(time: Date, network: CardanoNetwork | NetworkGenesis): number {
  return Math.floor(slotAt(time, network) / genesisOf(network).slotsPerKESPeriod);
}

/** Wall-clock start of KES period `period`. */
export function kesPeriodStart(period: number, network: CardanoNetwork | NetworkGenesis): Date {
  return slotStart(period * genesisOf(network).slotsPerKESPeriod, network);
}

/** First period in which a certificate starting at `startPeriod` is no longer valid. */
export function opcertExpiryPeriod(startPeriod: number, network: CardanoNetwork | NetworkGenesis): number {
  return startPeriod + genesisOf(network).maxKESEvolutions;
}

/** Moment a certificate starting at `startPeriod` expires: the start of period start + maxKESEvolutions. */
export function opcertExpiry(startPeriod: number, network: CardanoNetwork | NetworkGenesis): Date {
  return kesPeriodStart(opcertExpiryPeriod(startPeriod, network), network);
}

export interface OpcertValidity {
  readonly startPeriod: number;
  readonly currentPeriod: number;
  /** First invalid period. */
  readonly expiryPeriod: number;
  readonly expiresAt: Date;
  /** Periods left including the current one (0 when expired). */
  readonly periodsLeft: number;
  /** Days from `now` to expiry (fractional, negative once expired). */
  readonly daysLeft: number;
  readonly status: "valid" | "not-yet-valid" | "expired";
}

/** Validity of a certificate starting at `startPeriod`, seen at `now`. */
export function opcertValidity(startPeriod: number, now: Date, network: CardanoNetwork | NetworkGenesis): OpcertValidity {
  const currentPeriod = kesPeriodAt(now, network);
  const expiryPeriod = opcertExpiryPeriod(startPeriod, network);
  const expiresAt = opcertExpiry(startPeriod, network);
  const status = currentPeriod < startPeriod ? "not-yet-valid" : currentPeriod >= expiryPeriod ? "expired" : "valid";
  return {
    startPeriod,
    currentPeriod,
    expiryPeriod,
    expiresAt,
    periodsLeft: Math.max(0, expiryPeriod - Math.max(currentPeriod, startPeriod)),
    daysLeft: (expiresAt.getTime() - now.getTime()) / 86_400_000,
    status,
  };
}

/**
 * Refuse to issue a certificate whose start period is in the future (the node could not forge with it
 * yet) or already expired. `source` names where the period came from (e.g. `--kes-period`).
 */
export function assertIssuableKesPeriod(
  startPeriod: number,
  now: Date,
  network: CardanoNetwork,
  source = "--kes-period",
): void {
  if (!Number.isSafeInteger(startPeriod) || startPeriod < 0) {
    throw new KeyMaterialError(source, `KES period must be a non-negative integer, got ${startPeriod}`);
  }
  const v = opcertValidity(startPeriod, now, network);
  if (v.status === "not-yet-valid") {
    throw new KeyMaterialError(
      source,
      `KES period ${startPeriod} is in the future: the current ${network} KES period is ${v.currentPeriod} ` +
        `(period ${startPeriod} starts ${kesPeriodStart(startPeriod, network).toISOString()})`,
    );
  }
  if (v.status === "expired") {
    throw new KeyMaterialError(
      source,
      `KES period ${startPeriod} is too old: a certificate starting there expired at ${v.expiresAt.toISOString()} ` +
        `(current ${network} KES period is ${v.currentPeriod}; use ${v.currentPeriod})`,
    );
  }
}
