/**
 * The alert rules, checked and unit-tested by promtool (Debian's prometheus package): every alert has input series
 * that make it fire and series that must not, in both metric spellings cardano-node has used.
 */
import { describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { requireTool } from "../test/support";
import { ALERT_RULES, rulesYaml } from "./rules";

const hasPromtool = spawnSync("sh", ["-c", "command -v promtool"]).status === 0;
const canRun = requireTool(hasPromtool, "promtool (Debian package prometheus) is not on PATH");

const r = (host: string, role: string) => `{job="cardano-node", host="${host}", role="${role}", az="eu-west-1a"}`;
const n = (host: string) => `{job="node-exporter", host="${host}", role="relay", mountpoint="/", fstype="ext4"}`;

interface Case {
  readonly name: string;
  readonly series: { series: string; values: string }[];
  readonly at: string;
  readonly alerts: { alertname: string; labels?: Record<string, string> }[];
  /** Alert names checked to be silent at `at`. */
  readonly silent?: string[];
}

/** Every alert: a case where it fires, and one where it does not. */
const CASES: Case[] = [
  {
    name: "KES nearly expired (new spelling): warning and critical fire",
    series: [{ series: `cardano_node_metrics_remainingKESPeriods_int${r("producer-1", "producer")}`, values: "1x20" }],
    at: "10m",
    alerts: [
      { alertname: "KesExpiringWarning", labels: { host: "producer-1", severity: "warning" } },
      { alertname: "KesExpiringCritical", labels: { host: "producer-1", severity: "critical" } },
    ],
  },
  {
    name: "KES at 5 periods (legacy spelling): warning only",
    series: [{ series: `cardano_node_metrics_remainingKESPeriods${r("producer-1", "producer")}`, values: "5x20" }],
    at: "10m",
    alerts: [{ alertname: "KesExpiringWarning", labels: { host: "producer-1", severity: "warning" } }],
    silent: ["KesExpiringCritical"],
  },
  {
    name: "KES with 40 periods left: silent",
    series: [{ series: `cardano_node_metrics_remainingKESPeriods_int${r("producer-1", "producer")}`, values: "40x20" }],
    at: "10m",
    alerts: [],
    silent: ["KesExpiringWarning", "KesExpiringCritical"],
  },
  {
    name: "node down for 3 minutes fires; a blip does not",
    series: [
      { series: `up${r("relay-1", "relay")}`, values: "0x10" },
      { series: `up${r("relay-2", "relay")}`, values: "1 0 1x8" },
    ],
    at: "5m",
    alerts: [{ alertname: "NodeDown", labels: { host: "relay-1", role: "relay", severity: "critical" } }],
  },
  {
    name: "a relay 500 slots behind the best relay is not synced; one 10 behind is",
    series: [
      { series: `cardano_node_metrics_slotNum_int${r("relay-1", "relay")}`, values: "1000+60x20" },
      { series: `cardano_node_metrics_slotNum_int${r("relay-2", "relay")}`, values: "500+60x20" },
      { series: `cardano_node_metrics_slotNum${r("relay-3", "relay")}`, values: "990+60x20" },
    ],
    at: "10m",
    alerts: [{ alertname: "NodeNotSynced", labels: { host: "relay-2", role: "relay", severity: "warning" } }],
  },
  {
    name: "too few peers: a relay with 2, a producer with 1; a producer with 4 is fine",
    series: [
      { series: `cardano_node_metrics_connectedPeers_int${r("relay-1", "relay")}`, values: "2x20" },
      { series: `cardano_node_metrics_connectedPeers_int${r("relay-2", "relay")}`, values: "20x20" },
      { series: `cardano_node_metrics_connectedPeers_int${r("producer-1", "producer")}`, values: "1x20" },
      { series: `cardano_node_metrics_connectedPeers_int${r("producer-2", "producer")}`, values: "4x20" },
    ],
    at: "15m",
    alerts: [
      { alertname: "TooFewPeers", labels: { host: "relay-1", role: "relay", severity: "warning" } },
      { alertname: "TooFewPeers", labels: { host: "producer-1", role: "producer", severity: "warning" } },
    ],
  },
  {
    name: "no producer forging fires; exactly one forging is quiet",
    series: [
      { series: `cardano_node_metrics_forging_enabled_int${r("producer-1", "producer")}`, values: "0x10 1x10" },
      { series: `cardano_node_metrics_forging_enabled${r("producer-2", "producer")}`, values: "0x20" },
    ],
    at: "5m",
    alerts: [{ alertname: "NoProducerForging", labels: { severity: "critical" } }],
    silent: ["MoreThanOneProducerForging"],
  },
  {
    name: "no producer forging is quiet once the leader forges",
    series: [
      { series: `cardano_node_metrics_forging_enabled_int${r("producer-1", "producer")}`, values: "0x10 1x10" },
      { series: `cardano_node_metrics_forging_enabled${r("producer-2", "producer")}`, values: "0x20" },
    ],
    at: "15m",
    alerts: [],
    silent: ["NoProducerForging", "MoreThanOneProducerForging"],
  },
  {
    name: "two producers forging (mixed spellings) fires at once",
    series: [
      { series: `cardano_node_metrics_forging_enabled_int${r("producer-1", "producer")}`, values: "1x5" },
      { series: `cardano_node_metrics_forging_enabled${r("producer-2", "producer")}`, values: "1x5" },
    ],
    at: "1m",
    alerts: [{ alertname: "MoreThanOneProducerForging", labels: { severity: "critical" } }],
    silent: ["NoProducerForging"],
  },
  {
    name: "disk with 5% free fires; 50% free does not",
    series: [
      { series: `node_filesystem_avail_bytes${n("relay-1")}`, values: "5x20" },
      { series: `node_filesystem_size_bytes${n("relay-1")}`, values: "100x20" },
      { series: `node_filesystem_avail_bytes${n("relay-2")}`, values: "50x20" },
      { series: `node_filesystem_size_bytes${n("relay-2")}`, values: "100x20" },
    ],
    at: "15m",
    alerts: [{ alertname: "DiskNearlyFull", labels: { host: "relay-1", mountpoint: "/", fstype: "ext4", job: "node-exporter", role: "relay", severity: "warning" } }],
  },
  {
    name: "clock 0.2 s off fires; 10 ms does not",
    series: [
      { series: `node_timex_offset_seconds${n("relay-1")}`, values: "-0.2x20" },
      { series: `node_timex_offset_seconds${n("relay-2")}`, values: "0.01x20" },
    ],
    at: "15m",
    alerts: [{ alertname: "ClockSkew", labels: { host: "relay-1", mountpoint: "/", fstype: "ext4", job: "node-exporter", role: "relay", severity: "warning" } }],
  },
  {
    name: "5% memory available fires; 40% does not",
    series: [
      { series: `node_memory_MemAvailable_bytes${n("relay-1")}`, values: "5x20" },
      { series: `node_memory_MemTotal_bytes${n("relay-1")}`, values: "100x20" },
      { series: `node_memory_MemAvailable_bytes${n("relay-2")}`, values: "40x20" },
      { series: `node_memory_MemTotal_bytes${n("relay-2")}`, values: "100x20" },
    ],
    at: "15m",
    alerts: [{ alertname: "MemoryPressure", labels: { host: "relay-1", mountpoint: "/", fstype: "ext4", job: "node-exporter", role: "relay", severity: "warning" } }],
  },
];

/** A per-node alert keeps its target's labels (job, role, az) as Prometheus would have scraped them. */
function withTargetLabels(labels: Record<string, string>): Record<string, string> {
  if (!labels.host || labels.job) return labels;
  return { job: "cardano-node", az: "eu-west-1a", role: labels.host.startsWith("relay") ? "relay" : "producer", ...labels };
}

function promtoolTests(cases: readonly Case[] = CASES): string {
  return stringify({
    rule_files: ["rules.yml"],
    evaluation_interval: "1m",
    tests: cases.map((c) => {
      const names = [...new Set([...c.alerts.map((a) => a.alertname), ...(c.silent ?? [])])];
      return {
        name: c.name,
        interval: "1m",
        input_series: c.series,
        alert_rule_test: names.map((alertname) => ({
          eval_time: c.at,
          alertname,
          exp_alerts: c.alerts.filter((a) => a.alertname === alertname).map((a) => ({ exp_labels: withTargetLabels(a.labels ?? {}) })),
        })),
      };
    }),
  });
}

describe.runIf(canRun)("alert rules under promtool", () => {
  const dir = mkdtempSync(join(tmpdir(), "pool-rules-"));
  writeFileSync(join(dir, "rules.yml"), rulesYaml({ withAnnotations: false }));
  writeFileSync(join(dir, "rules-annotated.yml"), rulesYaml());
  writeFileSync(join(dir, "tests.yml"), promtoolTests());

  test("promtool check rules accepts the rule file", () => {
    const r = spawnSync("promtool", ["check", "rules", join(dir, "rules-annotated.yml")], { encoding: "utf8" });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`SUCCESS: ${ALERT_RULES.length + 8} rules found`));
  });

  test("promtool test rules: every alert fires on its case and stays silent on another", () => {
    const covered = new Set(CASES.flatMap((c) => c.alerts.map((a) => a.alertname)));
    const silenced = new Set(CASES.flatMap((c) => c.silent ?? []).concat(CASES.filter((c) => c.alerts.length > 0).flatMap((c) => c.alerts.map((a) => a.alertname))));
    for (const rule of ALERT_RULES) {
      expect(covered.has(rule.alert), `${rule.alert} never fires in a case`).toBe(true);
      expect(silenced.has(rule.alert), `${rule.alert} is never checked silent`).toBe(true);
    }
    const r = spawnSync("promtool", ["test", "rules", join(dir, "tests.yml")], { encoding: "utf8", cwd: dir });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS/);
  });

  test("promtool fails a case that is wrong (the harness can fail)", () => {
    // One producer stops forging, but the case still expects the double-forging alert.
    const broken = promtoolTests(
      CASES.map((c) => (c.name.startsWith("two producers forging") ? { ...c, series: c.series.map((x, i) => (i === 1 ? { ...x, values: "0x5" } : x)) } : c)),
    );
    writeFileSync(join(dir, "broken.yml"), broken);
    const r = spawnSync("promtool", ["test", "rules", join(dir, "broken.yml")], { encoding: "utf8", cwd: dir });
    expect(r.status).not.toBe(0);
  });
});
