/**
 * What happened on each host. Like Fabric's Result/GroupResult, but a group result always reports every host, and
 * "we lost the connection while the command ran" is its own status: the command may or may not have taken effect.
 */

/**
 * - `ok`: ran, exit 0, nothing changed (or the task does not know about changes)
 * - `changed`: ran and changed the host (a file written with new content, a service restarted)
 * - `failed`: reached the host, but the step failed (non-zero exit, server-side timeout, refused write)
 * - `unreachable`: never ran: no connection, refused host key, authentication failure
 * - `unknown`: the connection died while the step ran: it may or may not have taken effect
 * - `skipped`: not attempted (a rolling run stopped before this host)
 */
export type HostStatus = "ok" | "changed" | "failed" | "unreachable" | "unknown" | "skipped";

export const SUCCESS_STATUSES: readonly HostStatus[] = ["ok", "changed"];

/** An expected failure: names the host, the step and the remedy. Printed without a stack trace. */
export class OpsError extends Error {
  override name = "OpsError";
  constructor(
    readonly host: string,
    readonly step: string,
    message: string,
    readonly remedy: string,
    readonly status: Exclude<HostStatus, "ok" | "changed" | "skipped"> = "failed",
  ) {
    super(message);
  }
}

/** A host key pool-ops refused (unknown, changed, revoked, another identity): what the host offered. */
export class HostKeyRefused extends OpsError {
  override name = "HostKeyRefused";
  constructor(
    host: string,
    message: string,
    remedy: string,
    readonly refusal: "unknown" | "changed" | "revoked" | "mismatch",
    /** The offered key's SHA256 fingerprint, as OpenSSH prints it. */
    readonly offeredFingerprint: string,
  ) {
    super(host, "verify host key", message, remedy, "unreachable");
  }
}

export interface Result {
  readonly host: string;
  readonly status: HostStatus;
  /** Exit code of the (last) remote command; null when none finished. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** For failed / unreachable / unknown / skipped: which step, what happened, what to do. */
  readonly error?: { readonly step: string; readonly message: string; readonly remedy: string };
  /** Anything a task wants to report (facts gathered, the change made). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export function succeeded(result: Result): boolean {
  return SUCCESS_STATUSES.includes(result.status);
}

export function resultFromError(host: string, error: unknown, startedAt: number, partial: Partial<Result> = {}): Result {
  const durationMs = Date.now() - startedAt;
  if (error instanceof OpsError) {
    return {
      host,
      status: error.status,
      exitCode: partial.exitCode ?? null,
      stdout: partial.stdout ?? "",
      stderr: partial.stderr ?? "",
      durationMs,
      error: { step: error.step, message: error.message, remedy: error.remedy },
    };
  }
  return {
    host,
    status: "failed",
    exitCode: partial.exitCode ?? null,
    stdout: partial.stdout ?? "",
    stderr: partial.stderr ?? "",
    durationMs,
    error: { step: "task", message: (error as Error)?.message ?? String(error), remedy: "this is unexpected: re-run with POOL_OPS_DEBUG=1 and report it" },
  };
}

export class GroupResult {
  constructor(
    readonly results: readonly Result[],
    readonly durationMs: number,
  ) {}

  get ok(): boolean {
    return this.results.every(succeeded);
  }

  get failures(): Result[] {
    return this.results.filter((r) => !succeeded(r));
  }

  get changed(): Result[] {
    return this.results.filter((r) => r.status === "changed");
  }

  byHost(name: string): Result | undefined {
    return this.results.find((r) => r.host === name);
  }

  counts(): Record<HostStatus, number> {
    const counts: Record<HostStatus, number> = { ok: 0, changed: 0, failed: 0, unreachable: 0, unknown: 0, skipped: 0 };
    for (const r of this.results) counts[r.status]++;
    return counts;
  }

  toJSON(): object {
    return { ok: this.ok, durationMs: this.durationMs, counts: this.counts(), results: this.results };
  }
}
