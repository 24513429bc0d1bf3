/**
 * Prometheus recording and alerting rules for the pool. Recording rules first fold cardano-node's metric spellings
 * (the new tracing system's `…_int` / `…_counter`, the legacy bare names) into one `pool:*` series each, so every
 * alert and dashboard reads one name whatever the node version.
 */
import { stringify } from "yaml";
import { THRESHOLDS as T } from "./thresholds";

const node = (name: string) => `cardano_node_metrics_${name}_int or cardano_node_metrics_${name}`;

export const RECORDING_RULES: Record<string, string> = {
  "pool:node_slot": node("slotNum"),
  "pool:node_block": node("blockNum"),
  "pool:node_peers": `cardano_node_metrics_connectedPeers_int or cardano_node_metrics_connectedPeers or cardano_node_metrics_peers_int`,
  "pool:kes_periods_remaining": node("remainingKESPeriods"),
  "pool:kes_current_period": node("currentKESPeriod"),
  "pool:opcert_start_period": node("operationalCertificateStartKESPeriod"),
  "pool:forging": `cardano_node_metrics_forging_enabled_int or cardano_node_metrics_forging_enabled`,
  "pool:blocks_adopted_total": `cardano_node_metrics_Forge_adopted_counter or cardano_node_metrics_Forge_adopted_int`,
};

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: "warning" | "critical" };
  readonly annotations: { readonly summary: string };
}

export const ALERT_RULES: readonly AlertRule[] = [
  {
    alert: "KesExpiringWarning",
    expr: `pool:kes_periods_remaining < ${T.kesPeriodsWarning}`,
    for: "5m",
    labels: { severity: "warning" },
    annotations: { summary: "{{ $labels.host }}: op cert expires in {{ $value }} KES periods: run pool-ops rotate-kes" },
  },
  {
    alert: "KesExpiringCritical",
    expr: `pool:kes_periods_remaining < ${T.kesPeriodsCritical}`,
    for: "1m",
    labels: { severity: "critical" },
    annotations: { summary: "{{ $labels.host }}: op cert expires in {{ $value }} KES periods: rotate now" },
  },
  {
    alert: "NodeDown",
    expr: `up{job="cardano-node"} == 0`,
    for: "2m",
    labels: { severity: "critical" },
    annotations: { summary: "{{ $labels.host }} ({{ $labels.role }}): cardano-node does not answer" },
  },
  {
    alert: "NodeNotSynced",
    expr: `scalar(max(pool:node_slot{role="relay"})) - pool:node_slot > ${T.maxSlotLag}`,
    for: "5m",
    labels: { severity: "warning" },
    annotations: { summary: "{{ $labels.host }}: {{ $value }} slots behind the relays' best tip" },
  },
  {
    alert: "TooFewPeers",
    expr: `(pool:node_peers{role="relay"} < ${T.minRelayPeers}) or (pool:node_peers{role="producer"} < ${T.minProducerPeers})`,
    for: "10m",
    labels: { severity: "warning" },
    annotations: { summary: "{{ $labels.host }}: only {{ $value }} connected peers" },
  },
  {
    alert: "NoProducerForging",
    expr: `sum(pool:forging{role="producer"}) == 0`,
    for: "2m",
    labels: { severity: "critical" },
    annotations: { summary: "no producer is forging: the leader is down or fenced (pool-ops leader; pool-ops promote)" },
  },
  {
    alert: "MoreThanOneProducerForging",
    expr: `sum(pool:forging{role="producer"}) > 1`,
    for: "0m",
    labels: { severity: "critical" },
    annotations: { summary: "{{ $value }} producers forging with the same keys: forks and orphaned blocks; fence one NOW" },
  },
  {
    alert: "DiskNearlyFull",
    expr: `node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay"} < ${T.minDiskFree}`,
    for: "10m",
    labels: { severity: "warning" },
    annotations: { summary: `{{ $labels.host }}: {{ $labels.mountpoint }} has less than ${T.minDiskFree * 100}% free` },
  },
  {
    alert: "ClockSkew",
    expr: `abs(node_timex_offset_seconds) > ${T.maxClockSkewSeconds}`,
    for: "10m",
    labels: { severity: "warning" },
    annotations: { summary: "{{ $labels.host }}: clock off by {{ $value }} s (slot leadership is time-bound)" },
  },
  {
    alert: "MemoryPressure",
    expr: `node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < ${T.minMemoryAvailable}`,
    for: "10m",
    labels: { severity: "warning" },
    annotations: { summary: `{{ $labels.host }}: less than ${T.minMemoryAvailable * 100}% memory available` },
  },
];

/**
 * The rule file Prometheus loads (rule_files). `withAnnotations: false` is for promtool's unit tests, which compare
 * annotations exactly: the logic is tested there, the templates by `promtool check rules` on the real file.
 */
export function rulesYaml(options: { withAnnotations?: boolean } = {}): string {
  const withAnnotations = options.withAnnotations ?? true;
  return stringify({
    groups: [
      { name: "cardano-pool-recording", rules: Object.entries(RECORDING_RULES).map(([record, expr]) => ({ record, expr })) },
      { name: "cardano-pool-alerts", rules: ALERT_RULES.map(({ annotations, ...rule }) => (withAnnotations ? { ...rule, annotations } : rule)) },
    ],
  });
}
