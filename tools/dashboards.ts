/**
 * `npm run dashboards`: writes the monitoring host's files for the pool (POOL_CONFIG, else the embedded default) to
 * monitoring/out/ — prometheus.yml, the rules, alertmanager.yml, Grafana provisioning and the dashboards' JSON — for
 * review or import. The monitoring stack puts the same files on the monitoring host at boot.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadPoolConfig } from "../config/load";
import { monitoringFiles } from "../monitoring/monitoring-files";

const out = resolve(import.meta.dirname, "..", "monitoring", "out");
const { config, path } = loadPoolConfig();
const files = monitoringFiles(config, { alertTopicArn: `arn:aws:sns:${config.region}:<account>:${config.name}-alerts` });
rmSync(out, { recursive: true, force: true });
for (const file of files) {
  const target = join(out, file.path);
  mkdirSync(join(target, ".."), { recursive: true });
  writeFileSync(target, file.content);
}
console.log(`wrote ${files.length} monitoring files for pool ${config.name} (${path}) under monitoring/out/`);
