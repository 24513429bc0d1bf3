/**
 * The monitoring host's files, rendered from the pool config: Prometheus (scrape targets found through EC2, labelled
 * by host, role and AZ, and the rules), Alertmanager (routes to the pool's SNS alert topic), Grafana provisioning
 * (datasource, dashboard provider) and the dashboards. Pure: the monitoring stack writes them with cloud-init, and
 * `npm run dashboards` writes them to monitoring/out/ for review.
 */
import { stringify } from "yaml";
import { TAG_NAME, TAG_POOL, TAG_ROLE } from "../config/names";
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

export interface MonitoringFile {
  readonly path: string;
  readonly content: string;
  readonly mode: string;
}

export interface MonitoringFilesOptions {
  /** ARN of the alert topic (a Terraform reference in user data). */
  readonly alertTopicArn: string;
}

/** How often Prometheus asks EC2 for the pool's instances: a relay a rollout adds is scraped, one it removes dropped, within this and a scrape. */
export const EC2_DISCOVERY_REFRESH_SECONDS = 60;
export const SCRAPE_INTERVAL_SECONDS = 30;

/** Instance states whose node is still the pool's: a stopped relay or producer stays a target, down, so NodeDown fires. */
const NODE_STATES = ["pending", "running", "stopping", "stopped"];

/**
 * One job's targets, found through EC2 (Prometheus `ec2_sd_configs`, discovery/aws/ec2.go): the pool's instances of
 * these roles, by their `Pool` and `Role` tags, refreshed every EC2_DISCOVERY_REFRESH_SECONDS with the monitoring host's
 * instance-role credentials (IMDS). The file is written once, at the host's first boot (its user data is ignored
 * afterwards), so the targets must not be in it: relays a rollout adds or removes come and go here by themselves.
 * Each target is the instance's private address (the tiers' security groups admit the monitoring group there), with
 * the labels the rules and dashboards select on: `host` (the Name tag without the pool's prefix: `relay-5`), `role`
 * and `az`.
 */
function ec2Targets(config: PoolConfig, port: number, roles: readonly string[], states: readonly string[]) {
  const meta = (tag: string) => `__meta_ec2_tag_${tag}`;
  return {
    ec2_sd_configs: [
      {
        region: config.region,
        port,
        refresh_interval: `${EC2_DISCOVERY_REFRESH_SECONDS}s`,
        filters: [
          { name: `tag:${TAG_POOL}`, values: [config.name] },
          { name: `tag:${TAG_ROLE}`, values: [...roles] },
          { name: "instance-state-name", values: [...states] },
        ],
      },
    ],
    relabel_configs: [
      // Only the pool's hosts (Name `<pool>-<host>`): every series then carries a host label.
      { source_labels: [meta(TAG_NAME)], regex: `${config.name}-.+`, action: "keep" },
      { source_labels: ["__meta_ec2_private_ip"], target_label: "__address__", replacement: `$1:${port}` },
      { source_labels: [meta(TAG_NAME)], regex: `${config.name}-(.+)`, target_label: "host" },
      { source_labels: [meta(TAG_ROLE)], target_label: "role" },
      { source_labels: ["__meta_ec2_availability_zone"], target_label: "az" },
    ],
  };
}

export function prometheusYaml(config: PoolConfig): string {
  return stringify({
    global: { scrape_interval: `${SCRAPE_INTERVAL_SECONDS}s`, evaluation_interval: `${SCRAPE_INTERVAL_SECONDS}s`, external_labels: { pool: config.name, network: config.network } },
    rule_files: ["/etc/prometheus/rules/cardano-pool.yml"],
    alerting: { alertmanagers: [{ static_configs: [{ targets: ["127.0.0.1:9093"] }] }] },
    scrape_configs: [
      { job_name: "cardano-node", ...ec2Targets(config, config.node.metricsPort, ["relay", "producer"], NODE_STATES) },
      // node_exporter of every host but the bastion, while it runs (the sandbox is stopped between bakes).
      { job_name: "node-exporter", ...ec2Targets(config, DEFAULTS.nodeExporterPort, ["relay", "producer", "monitoring", "sandbox"], ["running"]) },
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

export function monitoringFiles(config: PoolConfig, options: MonitoringFilesOptions): MonitoringFile[] {
  const json = (v: object) => `${JSON.stringify(v, null, 2)}\n`;
  return [
    { path: "/etc/prometheus/prometheus.yml", content: prometheusYaml(config), mode: "0644" },
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
