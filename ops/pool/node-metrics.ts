/**
 * cardano-node's Prometheus metrics, read on the host over SSH (the metrics port is bound to the host, not exposed
 * to the operator). The address comes from the host's node config (`hasPrometheus` [host, port], or a
 * `PrometheusSimple … HOST PORT` backend), default 127.0.0.1 and the pool config's metrics port. Names are accepted
 * in both spellings cardano-node has used (`…_int` / `…_counter` / bare).
 */
import type { Connection } from "../remote/connection";
import { shellQuote } from "../remote/shell";

export type NodeMetrics = ReadonlyMap<string, number>;

const PREFIX = "cardano_node_metrics_";

/** The first value found among the spellings of a metric (`forging_enabled` → `…_forging_enabled_int`, `…_forging_enabled`). */
export function metricValue(metrics: NodeMetrics, name: string): number | undefined {
  for (const candidate of [`${PREFIX}${name}_int`, `${PREFIX}${name}_counter`, `${PREFIX}${name}`, name]) {
    const value = metrics.get(candidate);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Parses the Prometheus text format (labels ignored: cardano-node's own metrics carry none). */
export function parseMetrics(text: string): NodeMetrics {
  const metrics = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(-?[0-9.eE+-]+|NaN)(?:\s+\d+)?\s*$/.exec(line.trim());
    if (m) metrics.set(m[1]!, Number(m[2]));
  }
  return metrics;
}

/**
 * The shell script that finds the metrics address in the node config and fetches the page. Plain sh + bash's
 * /dev/tcp or curl, whichever the host has, so it works on a bare image.
 *
 * The node config is read as data even though it is root's now (on hosts made before, the node user could write
 * it): the host and port read from it are data, never code. They are checked (an IPv4/IPv6 literal or a DNS name; a
 * port number) before use, and reach bash's /dev/tcp as positional parameters, not spliced into its script — a config
 * naming the host `x;touch${IFS}/tmp/p` once ran that command.
 */
export function metricsScript(nodeConfigPath: string, defaultPort: number): string {
  const cfg = shellQuote(nodeConfigPath);
  return [
    `host=127.0.0.1; port=${defaultPort}`,
    `if [ -r ${cfg} ]; then`,
    `  hp=$(tr -d '\\n ' < ${cfg} | sed -n 's/.*"hasPrometheus":\\["\\([^"]*\\)",\\([0-9]*\\)\\].*/\\1 \\2/p')`,
    `  [ -n "$hp" ] || hp=$(tr -d '\\n' < ${cfg} | sed -n 's/.*PrometheusSimple[^0-9]*\\([0-9.]*\\)[ ",]*\\([0-9][0-9]*\\).*/\\1 \\2/p')`,
    `  if [ -n "$hp" ]; then host=\${hp% *}; port=\${hp#* }; fi`,
    "fi",
    // Only address characters and a port of digits: anything else in the node's file is refused, not used.
    `case "$host" in ""|-*|*[!0-9A-Za-z.:-]*) echo "metrics address in ${nodeConfigPath.replace(/[^\w./-]/g, "?")} is not a host name or address" >&2; exit 65 ;; esac`,
    `case "$port" in ""|*[!0-9]*) echo "metrics port in ${nodeConfigPath.replace(/[^\w./-]/g, "?")} is not a number" >&2; exit 65 ;; esac`,
    `[ "$host" = "0.0.0.0" ] && host=127.0.0.1`,
    `if command -v curl >/dev/null 2>&1; then exec curl -sf --max-time 5 --proto =http -- "http://$host:$port/metrics"; fi`,
    `exec bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET /metrics HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n" >&3 && sed "1,/^\\r\\?$/d" <&3' metrics "$host" "$port"`,
  ].join("\n");
}

/** Reads a node's metrics; undefined when the node does not answer (down, metrics off, or HTTP error). */
export async function readNodeMetrics(connection: Connection, nodeConfigPath: string, defaultPort: number): Promise<NodeMetrics | undefined> {
  // As root: the node config is root's, readable by the node's group only (config/host-layout.ts `nodeFileModes`),
  // not by the login user. What the script takes from it stays data (above).
  const result = await connection.run(metricsScript(nodeConfigPath, defaultPort), { step: "read node metrics", label: "read node metrics", timeoutSeconds: 10 });
  if (result.exitCode !== 0) return undefined;
  const metrics = parseMetrics(result.stdout.toString());
  return metrics.size > 0 ? metrics : undefined;
}
