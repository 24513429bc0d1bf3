/**
 * Who reaches Grafana and how. By default Grafana is reached only through an SSH tunnel via the bastion; when the pool
 * config enables `monitoring.publicDashboard`, the delegator dashboard — and nothing else — is published as a Grafana
 * public dashboard: visitors get that dashboard's own panels, with its fixed queries run by the server, and no login,
 * Explore or datasource access. The operator dashboard always needs a login.
 */
import { createHash } from "node:crypto";
import type { PoolConfig } from "../config/schema";
import { delegatorDashboardUid } from "./dashboards";

/** Grafana's HTTP port on the monitoring host. */
export const GRAFANA_PORT = 3000;

/** Where the Grafana admin password is generated on first boot (root:grafana 0640); never in user data or state. */
export const GRAFANA_ADMIN_PASSWORD_FILE = "/etc/grafana/admin-password";

/**
 * The public dashboard's access token: stable for a pool so its URL survives a rebuilt monitoring host. It is a
 * name, not a secret (the dashboard is public). Grafana requires a UUID written without dashes.
 */
export function publicDashboardAccessToken(poolName: string): string {
  const bytes = createHash("sha256").update(`cardano-pool:${poolName}:delegator-dashboard`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  return bytes.toString("hex");
}

/** The public dashboard's path on Grafana (prefix with http://<monitoring public IP>:3000). */
export function publicDashboardPath(poolName: string): string {
  return `/public-dashboards/${publicDashboardAccessToken(poolName)}`;
}

/**
 * Grafana's settings as a systemd drop-in (GF_* variables override grafana.ini): a generated admin password instead
 * of admin/admin, no sign-up, no anonymous org access, no phoning home, and public dashboards only when enabled.
 */
export function grafanaServiceDropIn(config: PoolConfig): string {
  const env = {
    // Grafana's own file expansion (pkg/setting/expanders.go): the deb-installed server reads no `…__FILE` variables
    // (only the Docker image's run.sh does), and it stops if the file cannot be read instead of keeping admin/admin.
    GF_SECURITY_ADMIN_PASSWORD: `$__file{${GRAFANA_ADMIN_PASSWORD_FILE}}`,
    GF_SECURITY_DISABLE_GRAVATAR: "true",
    GF_USERS_ALLOW_SIGN_UP: "false",
    GF_USERS_ALLOW_ORG_CREATE: "false",
    GF_AUTH_ANONYMOUS_ENABLED: "false",
    GF_ANALYTICS_REPORTING_ENABLED: "false",
    GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
    GF_PUBLIC_DASHBOARDS_ENABLED: String(config.monitoring.publicDashboard.enabled),
  };
  return ["# Written by the monitoring stack (monitoring/grafana-access.ts).", "[Service]", ...Object.entries(env).map(([k, v]) => `Environment=${k}=${v}`), ""].join("\n");
}

/**
 * The boot script that publishes the delegator dashboard once Grafana answers: idempotent (an existing public
 * dashboard is left as it is), admin password passed to curl on stdin so it never shows in the process list.
 */
export function publishDashboardScript(config: PoolConfig): string {
  const uid = delegatorDashboardUid(config.name);
  const body = JSON.stringify({ accessToken: publicDashboardAccessToken(config.name), isEnabled: true, timeSelectionEnabled: false, annotationsEnabled: false, share: "public" });
  return `#!/bin/sh
# Publish the delegator dashboard (${uid}) as a Grafana public dashboard (monitoring.publicDashboard.enabled).
set -eu
api=http://127.0.0.1:${GRAFANA_PORT}/api/dashboards/uid/${uid}/public-dashboards
auth() { printf 'user = "admin:%s"\\n' "$(cat ${GRAFANA_ADMIN_PASSWORD_FILE})"; }
for _ in $(seq 1 60); do
  curl -sf http://127.0.0.1:${GRAFANA_PORT}/api/health >/dev/null && break
  sleep 5
done
existing=$(auth | curl -sf -K - "$api" || true)
case "$existing" in
  *accessToken*) echo "delegator dashboard already public"; exit 0 ;;
esac
auth | curl -sf -K - -X POST -H 'Content-Type: application/json' -d '${body}' "$api/" >/dev/null
echo "delegator dashboard published at ${publicDashboardPath(config.name)}"
`;
}
