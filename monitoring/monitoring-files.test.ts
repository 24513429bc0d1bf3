import { describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { testPool } from "../test/pool-fixtures";
import { requireTool } from "../test/support";
import { dashboardQueries, delegatorDashboard, operatorDashboard } from "./dashboards";
import { EC2_DISCOVERY_REFRESH_SECONDS, monitoringFiles, prometheusYaml } from "./monitoring-files";
import { ALERT_RULES, RECORDING_RULES } from "./rules";

const config = testPool();

/** Metric names the node stand-in serves (lab/node-standin.ts) and node_exporter's used here. */
const STANDIN_METRICS = new Set(["cardano_node_metrics_slotNum_int", "cardano_node_metrics_connectedPeers_int", "cardano_node_metrics_remainingKESPeriods_int", "cardano_node_metrics_forging_enabled_int", "cardano_node_metrics_Forge_adopted_counter", "cardano_node_metrics_blockNum_int", "cardano_node_metrics_currentKESPeriod_int", "cardano_node_metrics_operationalCertificateStartKESPeriod_int"]);
const NODE_EXPORTER = new Set(["node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", "node_cpu_seconds_total", "node_timex_offset_seconds", "up"]);

function metricNames(expr: string): string[] {
  const stripped = expr.replace(/\{[^}]*\}/g, "").replace(/\[[^\]]*\]/g, "");
  const words = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  const keywords = new Set(["sum", "max", "min", "avg", "by", "scalar", "rate", "increase", "clamp_max", "abs", "or", "and", "mode", "host"]);
  return words.filter((w) => !keywords.has(w) && !/^\d/.test(w));
}

describe("monitoring files", () => {
  test("every panel query uses only metrics the rules record or the stand-in and node_exporter serve", () => {
    const known = new Set([...Object.keys(RECORDING_RULES), ...NODE_EXPORTER]);
    for (const dashboard of [operatorDashboard("p"), delegatorDashboard("p")]) {
      const queries = dashboardQueries(dashboard);
      expect(queries.length).toBeGreaterThan(4);
      for (const q of queries) for (const name of metricNames(q)) expect(known.has(name), `${name} in ${q}`).toBe(true);
    }
    // And every recording rule reads a metric the stand-in serves (in one of its spellings).
    for (const [record, expr] of Object.entries(RECORDING_RULES)) {
      expect(metricNames(expr).some((m) => STANDIN_METRICS.has(m)), record).toBe(true);
    }
  });

  test("the delegator dashboard shows no host, role-per-node or address detail", () => {
    const text = JSON.stringify(delegatorDashboard(config.name));
    expect(text).not.toMatch(/\{\{host\}\}|10\.\d+\.\d+\.\d+|privateIp|bastion/);
    for (const q of dashboardQueries(delegatorDashboard(config.name))) expect(q).toMatch(/^(sum|avg|clamp_max)\(/);
  });

  test("Prometheus finds the pool's nodes through EC2 by their Pool and Role tags, labelled by host, role and AZ", () => {
    interface Job { job_name: string; ec2_sd_configs: { region: string; port: number; refresh_interval: string; filters: { name: string; values: string[] }[] }[]; relabel_configs: { source_labels: string[]; regex?: string; target_label?: string; replacement?: string; action?: string }[]; static_configs?: unknown }
    const prom = parse(prometheusYaml(config)) as { scrape_configs: Job[] };
    const job = (name: string) => prom.scrape_configs.find((s) => s.job_name === name)!;
    const node = job("cardano-node");
    expect(node.static_configs).toBeUndefined();
    expect(node.ec2_sd_configs).toEqual([
      {
        region: config.region,
        port: 12798,
        refresh_interval: `${EC2_DISCOVERY_REFRESH_SECONDS}s`,
        filters: [
          { name: "tag:Pool", values: [config.name] },
          { name: "tag:Role", values: ["relay", "producer"] },
          // A stopped node stays a target (down), so NodeDown fires; terminated ones (scaled in, replaced) go.
          { name: "instance-state-name", values: ["pending", "running", "stopping", "stopped"] },
        ],
      },
    ]);
    const exporter = job("node-exporter");
    expect(exporter.ec2_sd_configs[0]).toMatchObject({ port: 9100, filters: [{ name: "tag:Pool" }, { name: "tag:Role", values: ["relay", "producer", "monitoring", "sandbox"] }, { name: "instance-state-name", values: ["running"] }] });
    for (const [j, port] of [[node, 12798], [exporter, 9100]] as const) {
      expect(j.relabel_configs).toEqual([
        { source_labels: ["__meta_ec2_tag_Name"], regex: `${config.name}-.+`, action: "keep" },
        { source_labels: ["__meta_ec2_private_ip"], target_label: "__address__", replacement: `$1:${port}` },
        { source_labels: ["__meta_ec2_tag_Name"], regex: `${config.name}-(.+)`, target_label: "host" },
        { source_labels: ["__meta_ec2_tag_Role"], target_label: "role" },
        { source_labels: ["__meta_ec2_availability_zone"], target_label: "az" },
      ]);
    }
  });

  test("the Prometheus config does not depend on the relay count: the same file for 2 and 16 relays", () => {
    expect(prometheusYaml(testPool({ relays: { count: 16 } }))).toBe(prometheusYaml(testPool({ relays: { count: 2 } })));
  });

  test("the generated files are deterministic and the rules are the ones tested", () => {
    const a = monitoringFiles(config, { alertTopicArn: "arn:aws:sns:eu-west-1:1:t" });
    const b = monitoringFiles(config, { alertTopicArn: "arn:aws:sns:eu-west-1:1:t" });
    expect(a).toEqual(b);
    const rules = a.find((f) => f.path.endsWith("cardano-pool.yml"))!.content;
    for (const r of ALERT_RULES) expect(rules).toContain(`alert: ${r.alert}`);
    expect(a.find((f) => f.path.endsWith("alertmanager.yml"))!.content).toContain("topic_arn: arn:aws:sns:eu-west-1:1:t");
  });

  const hasPromtool = spawnSync("sh", ["-c", "command -v promtool"]).status === 0;
  test.runIf(requireTool(hasPromtool, "promtool is not on PATH"))("promtool check config accepts prometheus.yml with its rules", () => {
    const dir = mkdtempSync(join(tmpdir(), "prom-"));
    mkdirSync(join(dir, "rules"));
    const files = monitoringFiles(config, { alertTopicArn: "arn:aws:sns:eu-west-1:1:t" });
    writeFileSync(join(dir, "rules", "cardano-pool.yml"), files.find((f) => f.path.endsWith("cardano-pool.yml"))!.content);
    writeFileSync(join(dir, "prometheus.yml"), files.find((f) => f.path.endsWith("prometheus.yml"))!.content.replace("/etc/prometheus/rules/", `${dir}/rules/`));
    const r = spawnSync("promtool", ["check", "config", join(dir, "prometheus.yml")], { encoding: "utf8" });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});
