/**
 * Many hosts at once, like Fabric's ThreadingGroup / SerialGroup, plus a rolling strategy: one host at a time,
 * stopping at the first failure or failed health check (the rest are reported `skipped`). Whatever the strategy,
 * the GroupResult has one Result per host, in the order the hosts were given.
 */
import { commandFailure, type CommandResult, type Connection, type RunOptions } from "./connection";
import type { PutOptions } from "./files";
import { GroupResult, OpsError, resultFromError, succeeded, type Result } from "./result";

export type Strategy =
  | { readonly kind: "parallel"; readonly concurrency?: number }
  | { readonly kind: "serial" }
  | {
      readonly kind: "rolling";
      /** Runs after a host's task succeeded; throw (ideally an OpsError) to mark the host failed and stop. */
      readonly healthCheck?: (connection: Connection) => Promise<void>;
    };

/** What a task reports; anything it throws becomes a failed / unreachable / unknown Result. */
export interface TaskOutcome {
  /** @default "ok" */
  readonly status?: "ok" | "changed";
  readonly exitCode?: number | null;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export type HostTask = (connection: Connection) => Promise<TaskOutcome | void>;

export interface GroupOptions {
  /** @default parallel with concurrency 10 */
  readonly strategy?: Strategy;
  /** Called as each host finishes (progress lines). */
  readonly onResult?: (result: Result) => void;
}

export const DEFAULT_CONCURRENCY = 10;

export class Group {
  constructor(
    readonly connections: readonly Connection[],
    readonly options: GroupOptions = {},
  ) {}

  /** Runs `task` on every host according to the strategy. */
  async each(task: HostTask): Promise<GroupResult> {
    const started = Date.now();
    const strategy = this.options.strategy ?? { kind: "parallel" };
    const results: Result[] = new Array(this.connections.length);
    const report = (index: number, result: Result) => {
      results[index] = result;
      this.options.onResult?.(result);
    };
    const one = async (connection: Connection): Promise<Result> => {
      const t0 = Date.now();
      try {
        const outcome = (await task(connection)) ?? {};
        return {
          host: connection.name,
          status: outcome.status ?? "ok",
          exitCode: outcome.exitCode === undefined ? 0 : outcome.exitCode,
          stdout: outcome.stdout ?? "",
          stderr: outcome.stderr ?? "",
          durationMs: Date.now() - t0,
          ...(outcome.detail ? { detail: outcome.detail } : {}),
        };
      } catch (error) {
        const partial = error instanceof TaskFailure ? error.partial : {};
        return resultFromError(connection.name, error instanceof TaskFailure ? error.cause : error, t0, partial);
      }
    };

    if (strategy.kind === "parallel") {
      const limit = Math.max(1, strategy.concurrency ?? DEFAULT_CONCURRENCY);
      let next = 0;
      const worker = async () => {
        while (next < this.connections.length) {
          const index = next++;
          report(index, await one(this.connections[index]!));
        }
      };
      await Promise.all(Array.from({ length: Math.min(limit, this.connections.length) }, worker));
    } else {
      let stopped: string | undefined;
      for (const [index, connection] of this.connections.entries()) {
        if (stopped) {
          report(index, { host: connection.name, status: "skipped", exitCode: null, stdout: "", stderr: "", durationMs: 0, error: { step: "rolling", message: `not attempted: ${stopped}`, remedy: `fix ${stopped.split(" ")[0]} and run again` } });
          continue;
        }
        let result = await one(connection);
        if (strategy.kind === "rolling") {
          if (succeeded(result) && strategy.healthCheck) {
            const t0 = Date.now();
            try {
              await strategy.healthCheck(connection);
            } catch (error) {
              const failed = resultFromError(connection.name, error instanceof OpsError ? error : new OpsError(connection.name, "health check", (error as Error).message, "look at the host before continuing"), t0);
              result = { ...result, status: failed.status, durationMs: result.durationMs + failed.durationMs, ...(failed.error ? { error: failed.error } : {}) };
            }
          }
          if (!succeeded(result)) stopped = `${connection.name} ${result.status} at ${result.error?.step ?? "its step"}`;
        }
        report(index, result);
      }
    }
    return new GroupResult(results, Date.now() - started);
  }

  /** Runs a shell command on every host; a non-zero exit is a failed host (with its output kept). */
  run(command: string, options: RunOptions = {}): Promise<GroupResult> {
    return this.each(async (connection) => {
      const result = await connection.run(command, options);
      const outcome = toOutcome(result);
      if (result.exitCode !== 0) {
        throw new TaskFailure(commandFailure(connection.name, options.step ?? "run", result, undefined, options.timeoutSeconds ?? connection.settings.commandTimeoutSeconds), outcome);
      }
      return outcome;
    });
  }

  /** Puts the same content on every host (atomically); `changed` where the file changed. */
  put(remotePath: string, content: Buffer | string, options: PutOptions = {}): Promise<GroupResult> {
    return this.each(async (connection) => ({ status: (await connection.put(remotePath, content, options)).changed ? "changed" : "ok" }));
  }
}

function toOutcome(result: CommandResult): TaskOutcome & { exitCode: number } {
  return { exitCode: result.exitCode, stdout: result.stdout.toString("utf8"), stderr: result.stderr };
}

/** A failure that keeps the command's output for the Result. */
export class TaskFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly partial: Partial<Result>,
  ) {
    super((cause as Error)?.message ?? String(cause));
  }
}
