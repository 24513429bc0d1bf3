/**
 * What pool-ops prints. Human output: a line per host as it finishes, then a summary table that fits a terminal,
 * colour only on a terminal and never with NO_COLOR (https://no-color.org). `--json`: machine-readable results only
 * on stdout, nothing else.
 */
import { GroupResult, succeeded, type HostStatus, type Result } from "./remote/result";

export interface OutputOptions {
  readonly json: boolean;
  readonly stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr?: NodeJS.WritableStream;
  /** @default stdout is a TTY and NO_COLOR is unset or empty */
  readonly color?: boolean;
}

const STATUS_COLOR: Record<HostStatus, number> = { ok: 32, changed: 33, failed: 31, unreachable: 31, unknown: 35, skipped: 90 };

export function colorWanted(stream: { isTTY?: boolean } | undefined): boolean {
  const noColor = process.env.NO_COLOR;
  return Boolean(stream?.isTTY) && (noColor === undefined || noColor === "");
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export class Output {
  readonly json: boolean;
  private readonly stdout: NodeJS.WritableStream;
  private readonly stderr: NodeJS.WritableStream;
  private readonly color: boolean;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.color = !options.json && (options.color ?? colorWanted(options.stdout ?? process.stdout));
  }

  paint(code: number, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  status(status: HostStatus): string {
    return this.paint(STATUS_COLOR[status], status);
  }

  /** Human text on stdout (nothing in JSON mode). */
  info(text: string): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** Diagnostics on stderr (in both modes: stdout stays clean JSON). */
  warn(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  data(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One line as a host finishes: `✓ relay-1  ok  0.21 s`, or the failure with its step. */
  hostLine(result: Result, note = ""): void {
    if (this.json) return;
    const mark = succeeded(result) ? this.paint(32, "✓") : result.status === "skipped" ? this.paint(90, "-") : this.paint(31, "✗");
    const why = result.error ? `  ${result.error.step}: ${result.error.message}` : note ? `  ${note}` : "";
    this.stdout.write(`${mark} ${result.host.padEnd(12)} ${this.status(result.status).padEnd(this.color ? 20 : 11)} ${formatDuration(result.durationMs).padStart(9)}${why}\n`);
  }

  /** The table at the end, the remedies of the failed hosts, and a counts line. */
  summary(group: GroupResult, columns: { title: string; value: (r: Result) => string }[] = []): void {
    if (this.json) return;
    const header = ["HOST", "STATUS", "EXIT", "TIME", ...columns.map((c) => c.title)];
    const rows = group.results.map((r) => [r.host, r.status, r.exitCode === null ? "-" : String(r.exitCode), formatDuration(r.durationMs), ...columns.map((c) => c.value(r))]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
    const line = (cells: string[], paintStatus: boolean) =>
      cells
        .map((cell, i) => {
          const padded = cell.padEnd(widths[i] ?? 0);
          return paintStatus && i === 1 ? this.status(cell as HostStatus) + padded.slice(cell.length) : padded;
        })
        .join("  ")
        .trimEnd();
    this.stdout.write(`\n${line(header, false)}\n`);
    for (const row of rows) this.stdout.write(`${line(row, true)}\n`);
    const failures = group.failures.filter((r) => r.error && r.status !== "skipped");
    if (failures.length > 0) {
      this.stdout.write("\n");
      for (const r of failures) {
        this.stdout.write(`${this.paint(31, r.host)} ${r.status} at ${r.error!.step}: ${r.error!.message}\n  remedy: ${r.error!.remedy}\n`);
      }
    }
    const counts = Object.entries(group.counts())
      .filter(([, n]) => n > 0)
      .map(([status, n]) => `${n} ${status}`)
      .join(", ");
    this.stdout.write(`\n${group.results.length} host${group.results.length === 1 ? "" : "s"}: ${counts} in ${formatDuration(group.durationMs)}\n`);
  }
}
