/**
 * Grafana dashboards as code (Grafana Foundation SDK): an operator dashboard (per-node sync, peers, KES, forging,
 * resources) and a public delegator dashboard (pool health, blocks, uptime — no host names, addresses or internals).
 * Queries read the `pool:*` recording rules (monitoring/rules.ts) and node_exporter's metrics only.
 */
import { DashboardBuilder, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanel } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";

export const DATASOURCE = { type: "prometheus", uid: "pool-prometheus" } as const;

const query = (expr: string, legend = "{{host}}") => new DataqueryBuilder().expr(expr).legendFormat(legend);

function series(title: string, unit: string, ...targets: DataqueryBuilder[]) {
  const panel = new TimeseriesPanel().title(title).unit(unit).datasource(DATASOURCE).height(8).span(12);
  for (const t of targets) panel.withTarget(t);
  return panel;
}

function stat(title: string, unit: string, target: DataqueryBuilder, span = 6) {
  return new StatPanel().title(title).unit(unit).datasource(DATASOURCE).height(4).span(span).withTarget(target);
}

/** KES days left: periods remaining × 1.5 days (129600-second KES periods on every network this pool supports). */
const KES_DAYS = "min(pool:kes_periods_remaining{role=\"producer\"}) * 1.5";

export function operatorDashboard(poolName: string): object {
  return new DashboardBuilder(`${poolName}: operations`)
    .uid(`${poolName}-ops`)
    .tags(["cardano", poolName, "operator"])
    .refresh("1m")
    .time({ from: "now-6h", to: "now" })
    .withPanel(stat("Producers forging", "none", query('sum(pool:forging{role="producer"})', "forging")))
    .withPanel(stat("KES days left", "d", query(KES_DAYS, "days")))
    .withPanel(stat("Best relay tip (slot)", "none", query('max(pool:node_slot{role="relay"})', "slot")))
    .withPanel(stat("Blocks adopted (24 h)", "none", query('sum(increase(pool:blocks_adopted_total{role="producer"}[24h]))', "blocks")))
    .withRow(new RowBuilder("Sync and peers"))
    .withPanel(series("Slots behind the best relay", "none", query('scalar(max(pool:node_slot{role="relay"})) - pool:node_slot')))
    .withPanel(series("Connected peers", "none", query("pool:node_peers")))
    .withRow(new RowBuilder("Forging and KES"))
    .withPanel(series("Forging enabled", "none", query('pool:forging{role="producer"}')))
    .withPanel(series("KES periods remaining", "none", query('pool:kes_periods_remaining{role="producer"}')))
    .withRow(new RowBuilder("Resources"))
    .withPanel(series("Disk free", "percentunit", query('node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay"}', "{{host}} {{mountpoint}}")))
    .withPanel(series("Memory available", "percentunit", query("node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes")))
    .withPanel(series("CPU busy", "percentunit", query('1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle"}[5m]))')))
    .withPanel(series("Clock offset", "s", query("node_timex_offset_seconds")))
    .build();
}

/** The delegator dashboard's uid (the public dashboard points at it). */
export const delegatorDashboardUid = (poolName: string): string => `${poolName}-public`;

/** For delegators: aggregates only — no host names, roles, addresses or per-node series. */
export function delegatorDashboard(poolName: string): object {
  const agg = (expr: string, legend: string) => query(expr, legend);
  return new DashboardBuilder(`${poolName}: pool health`)
    .uid(delegatorDashboardUid(poolName))
    .tags(["cardano", poolName, "public"])
    .refresh("5m")
    .time({ from: "now-7d", to: "now" })
    .readonly()
    .withPanel(stat("Block production", "none", agg('clamp_max(sum(pool:forging{role="producer"}), 1)', "producing"), 8))
    .withPanel(stat("Blocks made (7 days)", "none", agg('sum(increase(pool:blocks_adopted_total{role="producer"}[7d]))', "blocks"), 8))
    .withPanel(stat("Relays up", "percentunit", agg('avg(up{job="cardano-node", role="relay"})', "relays up"), 8))
    .withPanel(series("Relays up over time", "percentunit", agg('avg(up{job="cardano-node", role="relay"})', "relays up")))
    .withPanel(series("Blocks made per day", "none", agg('sum(increase(pool:blocks_adopted_total{role="producer"}[1d]))', "blocks")))
    .build();
}

/** Every PromQL expression in a dashboard's JSON (for checks). */
export function dashboardQueries(dashboard: object): string[] {
  const out: string[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        if (k === "expr" && typeof child === "string") out.push(child);
        else visit(child);
      }
    }
  };
  visit(dashboard);
  return out;
}

