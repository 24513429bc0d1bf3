/**
 * The stand-in's Prometheus page, with cardano-node's names (new tracing, prefix `cardano.node.metrics.`; with the
 * PrometheusSimple `suffix` option gauges end `_int` and counters `_counter`). Test tooling; rows in
 * lab/node-standin.md.
 */
import { NETWORKS, type CardanoNetwork, type NetworkGenesis } from "../config/networks";
import { slotAt } from "../ops/cardano/kes-period";
import type { Credentials } from "./node-standin-model";

export interface NodeState {
  readonly network: CardanoNetwork;
  readonly startedAt: Date;
  /** The ledger replay is over (`rnNodeKernelHook` ran): chain metrics appear, a SIGHUP reaches forging. */
  startupDone: boolean;
  /** The forging loop runs with `credentials`. */
  forging: boolean;
  /** What `forging_enabled` reads (BlockForgingUpdate: 1 enabled, 0 disabled or NotEffective). */
  forgingGauge: 0 | 1;
  credentials: Credentials | undefined;
  peers: string[];
  reloads: number;
  aboutToLead: number;
  leader: number;
  forged: number;
  couldNotForge: number;
  lastForgeSlot: number;
}

/** The epoch of a slot: Byron epochs are 21600 slots (k = 2160), Shelley ones `epochLength`. */
export function epochOfSlot(slot: number, genesis: NetworkGenesis): number {
  const byronEpochs = genesis.shelleyStartSlot / 21_600;
  return byronEpochs + Math.floor((slot - genesis.shelleyStartSlot) / genesis.epochLength);
}

export interface MetricsOptions {
  /** PrometheusSimple `suffix`: `_int` / `_counter` endings. */
  readonly suffix: boolean;
  /** Lab fault: the tip is this many slots behind the wall clock. */
  readonly slotLag?: number;
  /** Lab fault (cardano-node #6113/#6576): the gauge reads 1 whatever the node does. */
  readonly gaugeStuckAtOne?: boolean;
}

export function renderMetrics(state: NodeState, now: Date, options: MetricsOptions): string {
  const genesis = NETWORKS[state.network];
  const slot = slotAt(now, state.network) - (options.slotLag ?? 0);
  const kesPeriod = Math.floor(slotAt(now, state.network) / genesis.slotsPerKESPeriod);
  const gauge = (name: string, value: number): [string, string, number] => [`cardano_node_metrics_${name}${options.suffix ? "_int" : ""}`, "gauge", value];
  const counter = (name: string, value: number): [string, string, number] => [`cardano_node_metrics_${name}${options.suffix ? "_counter" : ""}`, "counter", value];
  const lines: [string, string, number][] = [gauge("forging_enabled", options.gaugeStuckAtOne ? 1 : state.forgingGauge), gauge("connectedPeers", state.peers.length), gauge("peers", state.peers.length)];
  if (state.startupDone) {
    // ChainDB metrics: traced once the chain selection adopts blocks, i.e. after the replay.
    lines.push(
      gauge("slotNum", slot),
      // No chain here: about one block every 20 slots (active slot coefficient 0.05).
      gauge("blockNum", Math.floor(slot / 20)),
      gauge("epoch", epochOfSlot(slot, genesis)),
      gauge("slotInEpoch", (slot - genesis.shelleyStartSlot) % genesis.epochLength),
    );
  }
  if (state.aboutToLead > 0 || state.forging) {
    lines.push(counter("Forge_about_to_lead", state.aboutToLead), counter("Forge_node_is_leader", state.leader), counter("Forge_forged", state.forged), counter("Forge_adopted", state.forged));
    if (state.couldNotForge > 0) lines.push(counter("Forge_could_not_forge", state.couldNotForge));
  }
  const cert = state.forging ? state.credentials?.opcert : undefined;
  if (cert) {
    const expiry = cert.kesPeriod + genesis.maxKESEvolutions;
    lines.push(
      gauge("currentKESPeriod", kesPeriod),
      gauge("operationalCertificateStartKESPeriod", cert.kesPeriod),
      gauge("operationalCertificateExpiryKESPeriod", expiry),
      gauge("remainingKESPeriods", Math.max(0, expiry - kesPeriod)),
      ["cardano_node_lab_opcert_counter_int", "gauge", cert.counter],
    );
  }
  lines.push(["cardano_node_lab_reloads_counter", "counter", state.reloads]);
  return lines.map(([name, type, value]) => `# TYPE ${name} ${type}\n${name} ${value}`).join("\n") + "\n";
}
