/**
 * The monitoring host's files, rendered from the pool config and its hosts: Prometheus (scrape config labelled by
 * host, role and AZ, and the rules), Alertmanager (routes to the pool's SNS alert topic), Grafana provisioning
 * (datasource, dashboard provider) and the dashboards. Pure: the monitoring stack writes them with cloud-init, and
 * `npm run dashboards` writes them to monitoring/out/ for review.
 */
import { stringify } from "yaml";
import type { PoolConfig } from "../config/schema";
import { DEFAULTS } from "../config/schema";
import { delegatorDashboard, operatorDashboard, DATASOURCE } from "./dashboards";
import { grafanaServiceDropIn, publishDashboardScript } from "./grafana-access";
import { rulesYaml } from "./rules";

/** Stands for the alert topic's ARN in files written before the topic exists; replaced on the host at boot. */
export const ALERT_TOPIC_PLACEHOLDER = "@@ALERT_TOPIC_ARN@@";

/** Grafana's settings (systemd drop-in) and, with a public dashboard, the script prepare-monitoring.sh runs after start. */
export const GRAFANA_DROP_IN = "/etc/systemd/system/grafana-server.service.d/pool.conf";
export const PUBLISH_DASHBOARD_SCRIPT = "/usr/local/sbin/publish-delegator-dashboard";

export interface MonitoredHost {
  readonly name: string;
  readonly role: string;
  readonly privateIp: string;
  readonly availabilityZone: string;
}

export interface MonitoringFile {
  readonly path: string;
  readonly content: string;
  readonly mode: string;
}

export interface MonitoringFilesOptions {
  /** ARN of the alert topic (a Terraform reference in user data). */
  readonly alertTopicArn: string;
}

export function prometheusYaml(config: PoolConfig, hosts: readonly MonitoredHost[]): string {
  const nodes = hosts.filter((h) => h.role === "relay" || h.role === "producer");
  const target = (h: MonitoredHost, port: number) => ({ targets: [`${h.privateIp}:${port}`], labels: { host: h.name, role: h.role, az: h.availabilityZone } });
  return stringify({
    global: { scrape_interval: "30s", evaluation_interval: "30s", external_labels: { pool: config.name, network: config.network } },
    rule_files: ["/etc/prometheus/rules/cardano-pool.yml"],
    alerting: { alertmanagers: [{ static_configs: [{ targets: ["127.0.0.1:9093"] }] }] },
    scrape_configs: [
      { job_name: "cardano-node", static_configs: nodes.map((h) => target(h, config.node.metricsPort)) },
      { job_name: "node-exporter", static_configs: hosts.filter((h) => h.role !== "bastion").map((h) => target(h, DEFAULTS.nodeExporterPort)) },
    ],
  });
}

export function alertmanagerYaml(config: PoolConfig, options: MonitoringFilesOptions): string {
  return stringify({
    route: { receiver: "pool-alerts", group_by: ["alertname", "host"], group_wait: "30s", group_interval: "5m", repeat_interval: "4h" },
    // A critical KES alert makes the warning for the same host redundant.
    inhibit_rules: [{ source_matchers: ['alertname="KesExpiringCritical"'], target_matchers: ['alertname="KesExpiringWarning"'], equal: ["host"] }],
    receivers: [
      {
        name: "pool-alerts",
        sns_configs: [{ topic_arn: options.alertTopicArn, sigv4: { region: config.region }, subject: `[${config.name}] {{ .CommonLabels.alertname }}` }],
      },
    ],
  });
}

export function monitoringFiles(config: PoolConfig, hosts: readonly MonitoredHost[], options: MonitoringFilesOptions): MonitoringFile[] {
  const json = (v: object) => `${JSON.stringify(v, null, 2)}\n`;
  return [
    { path: "/etc/prometheus/prometheus.yml", content: prometheusYaml(config, hosts), mode: "0644" },
    { path: "/etc/prometheus/rules/cardano-pool.yml", content: rulesYaml(), mode: "0644" },
    { path: "/etc/prometheus/alertmanager.yml", content: alertmanagerYaml(config, options), mode: "0644" },
    {
      path: "/etc/grafana/provisioning/datasources/pool.yaml",
      content: stringify({ apiVersion: 1, datasources: [{ name: "Prometheus", type: DATASOURCE.type, uid: DATASOURCE.uid, url: "http://127.0.0.1:9090", access: "proxy", isDefault: true }] }),
      mode: "0644",
    },
    {
      path: "/etc/grafana/provisioning/dashboards/pool.yaml",
      content: stringify({ apiVersion: 1, providers: [{ name: "pool", type: "file", disableDeletion: true, options: { path: "/var/lib/grafana/dashboards" } }] }),
      mode: "0644",
    },
    { path: "/var/lib/grafana/dashboards/operator.json", content: json(operatorDashboard(config.name)), mode: "0644" },
    { path: "/var/lib/grafana/dashboards/delegator.json", content: json(delegatorDashboard(config.name)), mode: "0644" },
    { path: GRAFANA_DROP_IN, content: grafanaServiceDropIn(config), mode: "0644" },
    ...(config.monitoring.publicDashboard.enabled ? [{ path: PUBLISH_DASHBOARD_SCRIPT, content: publishDashboardScript(config), mode: "0755" }] : []),
  ];
}
