/**
 * Per-network genesis timing data for the Cardano networks a pool can run on.
 *
 * Sources: the published genesis files of each network (byron-genesis.json `startTime`,
 * `protocolConsts.k`, `blockVersionData.slotDuration`; shelley-genesis.json `networkMagic`,
 * `slotLength`, `slotsPerKESPeriod`, `maxKESEvolutions`, `epochLength`), as distributed by
 * IntersectMBO/cardano-node (`configuration/cardano/*`) and https://book.play.dev.cardano.org/environments.html.
 * The Shelley transition (first Shelley slot and its wall-clock time) follows from the Byron
 * era: mainnet forked at epoch 208 (208 × 21600 Byron slots of 20 s), preprod at epoch 4
 * (4 × 21600), preview started in Shelley-based eras at slot 0.
 */

/** The networks this project knows. */
export type CardanoNetwork = "mainnet" | "preprod" | "preview";

/** Genesis timing and KES parameters of one network. */
export interface NetworkGenesis {
  /** Network magic (shelley-genesis `networkMagic`). */
  readonly networkMagic: number;
  /** Byron `startTime`: wall-clock time of slot 0, ISO 8601 UTC. */
  readonly systemStart: string;
  /** Same as `systemStart`, in Unix seconds. */
  readonly systemStartUnix: number;
  /** Byron slot length in seconds (byron-genesis `slotDuration` / 1000). */
  readonly byronSlotLengthSeconds: number;
  /** First slot of the Shelley era. */
  readonly shelleyStartSlot: number;
  /** Unix time (seconds) at which `shelleyStartSlot` begins. */
  readonly shelleyStartUnix: number;
  /** Shelley slot length in seconds (shelley-genesis `slotLength`). */
  readonly shelleySlotLengthSeconds: number;
  /** Slots per KES period (shelley-genesis `slotsPerKESPeriod`). */
  readonly slotsPerKESPeriod: number;
  /** Number of KES periods an operational certificate is valid for (shelley-genesis `maxKESEvolutions`). */
  readonly maxKESEvolutions: number;
  /** Shelley epoch length in slots (shelley-genesis `epochLength`). */
  readonly epochLength: number;
}

export const NETWORKS: Readonly<Record<CardanoNetwork, NetworkGenesis>> = {
  mainnet: {
    networkMagic: 764824073,
    systemStart: "2017-09-23T21:44:51Z",
    systemStartUnix: 1506203091,
    byronSlotLengthSeconds: 20,
    shelleyStartSlot: 4_492_800, // epoch 208 × 21600
    shelleyStartUnix: 1596059091, // 2020-07-29T21:44:51Z = systemStart + 4_492_800 × 20
    shelleySlotLengthSeconds: 1,
    slotsPerKESPeriod: 129_600,
    maxKESEvolutions: 62,
    epochLength: 432_000,
  },
  preprod: {
    networkMagic: 1,
    systemStart: "2022-06-01T00:00:00Z",
    systemStartUnix: 1654041600,
    byronSlotLengthSeconds: 20,
    shelleyStartSlot: 86_400, // epoch 4 × 21600
    shelleyStartUnix: 1655769600, // 2022-06-21T00:00:00Z = systemStart + 86_400 × 20
    shelleySlotLengthSeconds: 1,
    slotsPerKESPeriod: 129_600,
    maxKESEvolutions: 62,
    epochLength: 432_000,
  },
  preview: {
    networkMagic: 2,
    systemStart: "2022-10-25T00:00:00Z",
    systemStartUnix: 1666656000,
    byronSlotLengthSeconds: 20,
    shelleyStartSlot: 0, // no Byron blocks: Shelley-based eras from slot 0
    shelleyStartUnix: 1666656000,
    shelleySlotLengthSeconds: 1,
    slotsPerKESPeriod: 129_600,
    maxKESEvolutions: 62,
    epochLength: 86_400,
  },
};

export function isCardanoNetwork(value: string): value is CardanoNetwork {
  return Object.prototype.hasOwnProperty.call(NETWORKS, value);
}

/**
 * The major protocol version each network runs, so a node line that cannot follow it is refused before anything is
 * built (config/node-versions.ts). All three moved to protocol version 11 ("van Rossem", an intra-era hard fork,
 * still Conway) in 2026 by a HardForkInitiation governance action: preview in May, preprod and mainnet in July
 * (book.world.dev.cardano.org: preprod forks within an epoch of mainnet; field notes, "The real cardano-node").
 */
export const NETWORK_PROTOCOL_MAJOR: Readonly<Record<CardanoNetwork, number>> = {
  mainnet: 11,
  preprod: 11,
  preview: 11,
};

/** Instance memory and chain storage a node of a network needs, and how long its restart may take. */
export interface NetworkSizing {
  /** Default instance type of relays and producers. */
  readonly nodeInstanceType: string;
  /** Default chain volume (gp3) of relays, producers and the sandbox, GiB. */
  readonly chainDbVolumeGiB: number;
  /**
   * Memory below which a node with the in-memory ledger backend (`LedgerDB.Backend: V2InMemory`) runs out: the
   * synth policy rule NODE-MEMORY-FITS-NETWORK refuses smaller instance types. GiB.
   */
  readonly minMemoryGiBInMemoryLedger: number;
  /**
   * How long a restarted node may take to be healthy again (ledger snapshot load and replay). push-config's default
   * health timeout on this network, seconds.
   */
  readonly restartHealthTimeoutSeconds: number;
}

/**
 * Sizing per network. Mainnet: the 11.1 release notes and developers.cardano.org give 24 GB of memory with the
 * in-memory ledger and 300 GB of storage (350–500 GB recommended), and a restart loads a ledger snapshot and may
 * replay for minutes; hence 32 GiB instances (r6i.xlarge) and 500 GiB volumes. The test networks fit m6i.large
 * (8 GiB) and 200 GiB, and restart in about a minute.
 */
export const NETWORK_SIZING: Readonly<Record<CardanoNetwork, NetworkSizing>> = {
  mainnet: { nodeInstanceType: "r6i.xlarge", chainDbVolumeGiB: 500, minMemoryGiBInMemoryLedger: 24, restartHealthTimeoutSeconds: 1200 },
  preprod: { nodeInstanceType: "m6i.large", chainDbVolumeGiB: 200, minMemoryGiBInMemoryLedger: 8, restartHealthTimeoutSeconds: 300 },
  preview: { nodeInstanceType: "m6i.large", chainDbVolumeGiB: 200, minMemoryGiBInMemoryLedger: 8, restartHealthTimeoutSeconds: 300 },
};
