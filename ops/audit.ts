/**
 * The audit trail: every pool-ops command that changes a host appends one JSON line — time, operator, command,
 * hosts, result, duration — to a local file (default ~/.pool-ops/audit.log; POOL_OPS_AUDIT_LOG or --audit-log
 * override it) and, when a log group is configured (POOL_OPS_AUDIT_LOG_GROUP or --audit-log-group), to CloudWatch
 * Logs. The local line is written first and always; a CloudWatch failure is reported, not fatal.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { homedir, hostname, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { awsClientSettings, type AwsTarget } from "./aws/client-config";
import type { GroupResult, HostStatus } from "./remote/result";

export interface AuditEntry {
  /** ISO 8601 time the command finished. */
  readonly time: string;
  /** Who ran it: POOL_OPS_OPERATOR, else `<login user>@<machine>`. */
  readonly operator: string;
  /** The command as typed after `pool-ops` (e.g. `rotate-kes --hosts producer-1`). */
  readonly command: string;
  readonly pool?: string | undefined;
  readonly hosts: readonly string[];
  /** `ok` when every host succeeded, `failed` when none did, else `partial`; `aborted` when nothing was applied. */
  readonly result: "ok" | "partial" | "failed" | "aborted";
  /** Status per host. */
  readonly statuses?: Readonly<Record<string, HostStatus>>;
  readonly durationMs: number;
  readonly dryRun?: boolean;
  /** Command-specific facts (new KES period, promoted host, file written, …). Never secrets. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditSink {
  /** Local JSON-lines file. */
  readonly file: string;
  /** CloudWatch Logs group (and stream) to copy each line to. */
  readonly cloudWatch?: { readonly logGroup: string; readonly logStream?: string; readonly aws: AwsTarget } | undefined;
}

export function defaultAuditLogPath(): string {
  return process.env.POOL_OPS_AUDIT_LOG || join(homedir(), ".pool-ops", "audit.log");
}

export function operatorName(): string {
  if (process.env.POOL_OPS_OPERATOR) return process.env.POOL_OPS_OPERATOR;
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry (containers) */
  }
  return `${user}@${hostname()}`;
}

/** Builds an entry from a command's GroupResult. */
export function auditEntryFor(
  command: string,
  group: GroupResult,
  extra: { pool?: string; dryRun?: boolean; details?: Record<string, unknown>; operator?: string } = {},
): AuditEntry {
  const statuses = Object.fromEntries(group.results.map((r) => [r.host, r.status]));
  const good = group.results.filter((r) => r.status === "ok" || r.status === "changed").length;
  return {
    time: new Date().toISOString(),
    operator: extra.operator ?? operatorName(),
    command,
    pool: extra.pool,
    hosts: group.results.map((r) => r.host),
    result: good === group.results.length ? "ok" : good === 0 ? "failed" : "partial",
    statuses,
    durationMs: group.durationMs,
    ...(extra.dryRun ? { dryRun: true } : {}),
    ...(extra.details ? { details: extra.details } : {}),
  };
}

/**
 * Appends one entry. Returns the warnings to show (a CloudWatch failure); throws only when the local file cannot be
 * written, since then there would be no trace at all.
 */
export async function appendAudit(entry: AuditEntry, sink: AuditSink): Promise<string[]> {
  const line = JSON.stringify(entry);
  mkdirSync(dirname(sink.file), { recursive: true, mode: 0o700 });
  appendFileSync(sink.file, `${line}\n`, { mode: 0o600 });
  if (!sink.cloudWatch) return [];
  const { logGroup, aws } = sink.cloudWatch;
  const logStream = sink.cloudWatch.logStream ?? `pool-ops/${entry.operator.replace(/[:*]/g, "_")}`;
  // Loaded on demand: only commands that audit to CloudWatch pay for the SDK.
  const { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } = await import("@aws-sdk/client-cloudwatch-logs");
  const client = new CloudWatchLogsClient(awsClientSettings(aws, "logs"));
  try {
    try {
      await client.send(new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: logStream }));
    } catch (error) {
      if ((error as Error).name !== "ResourceAlreadyExistsException") throw error;
    }
    await client.send(new PutLogEventsCommand({ logGroupName: logGroup, logStreamName: logStream, logEvents: [{ timestamp: Date.parse(entry.time), message: line }] }));
    return [];
  } catch (error) {
    return [`audit: written to ${sink.file} but not to CloudWatch Logs group ${logGroup}: ${(error as Error).message}`];
  } finally {
    client.destroy();
  }
}
