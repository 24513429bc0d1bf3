/**
 * One host, maybe reached through a gateway (the bastion). Opened lazily on first use, reused for every step of a
 * command, closed at the end. Through a gateway the node's SSH session rides a `direct-tcpip` channel of the
 * gateway's single connection (ssh2 `forwardOut`), so N nodes cost one bastion handshake, not N.
 *
 * Facts this code relies on (see docs/field-notes "node-ssh 13 / ssh2 1.17 behaviours that bite"):
 * - ssh2 accepts any host key unless `hostVerifier` is set: every connect carries one bound to the address meant.
 * - keepalives are off by default: without them a command on a dead link stays pending forever. With them the client
 *   emits `error` ("Keepalive timeout") and a pending command ends without an exit status → outcome *unknown*.
 * - node-ssh drops its own `error` listener after connecting: we keep a permanent one, or a later network error
 *   would crash the process.
 * - closing a channel does not stop the remote process: commands are bounded server-side with `timeout -k`.
 */
import type { NodeSSH } from "node-ssh";
import { describeRefusal, HostKeyFileError, type HostKeyCheck, type HostKeyPolicy, type HostKeyTarget, type HostKeyVerdict } from "./host-keys";
import { authHandlerFor, type OperatorAuth } from "./operator-identity";
import { sshAlgorithms } from "./ssh-algorithms";
import { OpsError } from "./result";
import { commandFailure, describeConnectError } from "./connection-errors";
import type { BackupEntry, DirectoryOptions, MoveOptions, ParentPolicy, PutOptions, RestoreEntry } from "./files";
import { backupFiles, ensureDirectory, moveFiles, putFile, readFile, restoreFiles } from "./remote-files";

export { commandFailure } from "./connection-errors";
import { shellQuote } from "./shell";

export interface HostTarget extends HostKeyTarget {
  readonly role: string;
}

export interface ConnectionSettings {
  readonly user: string;
  /** How the operator logs in: a key opened in memory, or an ssh-agent (operator-identity.ts). */
  readonly auth: OperatorAuth;
  readonly hostKeys: HostKeyPolicy;
  readonly connectTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCountMax: number;
  /** Server-side bound for one command (`timeout -k`). */
  readonly commandTimeoutSeconds: number;
  /** Wrap commands in `sudo -n` unless a step says otherwise. */
  readonly sudo: boolean;
  /**
   * Send commands through this relay (a running pool-ops agent, agent-client.ts) instead of opening SSH connections
   * here. @default none: connect directly
   */
  readonly relay?: CommandRelay;
}

/** One command as it goes on the wire, with what error messages need. */
export interface WireExec {
  readonly stdin?: Buffer | undefined;
  readonly step: string;
  /** How the command is named in messages. */
  readonly label: string;
  /** Client-side bound: no exit status by then means the outcome is unknown. */
  readonly guardMs: number;
}

export interface WireOutcome {
  readonly exitCode: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Something that holds connections on a command's behalf (the agent): opens hosts and runs wire commands on them. */
export interface CommandRelay {
  open(connection: Connection): Promise<void>;
  exec(connection: Connection, wire: string, exec: WireExec): Promise<WireOutcome>;
}

export interface RunOptions {
  /** Override the connection's sudo setting for this command. */
  readonly sudo?: boolean;
  /** Bytes or text fed to the command's stdin (then closed). */
  readonly stdin?: Buffer | string;
  /** Server-side time limit for this command. @default settings.commandTimeoutSeconds */
  readonly timeoutSeconds?: number;
  /** Step name for error messages. @default "run" */
  readonly step?: string;
  /** How the command is named in messages (a put's script is long). @default the command */
  readonly label?: string;
}

export interface CommandResult {
  readonly command: string;
  /** Exit code; a command killed by `timeout` exits 124 (137 when it had to be killed with -KILL). */
  readonly exitCode: number;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly durationMs: number;
}

/** Grace after TERM before `timeout` sends KILL. */
const KILL_AFTER_SECONDS = 5;
/** Client-side guard beyond the server-side bound: the answer should have come by then, or the link is dead. */
const CLIENT_GRACE_MS = (KILL_AFTER_SECONDS + 10) * 1000;

/** The command line actually sent: `[sudo -n] timeout -k 5 N sh -c '<command>'`. */
export function wrapCommand(command: string, options: { sudo: boolean; timeoutSeconds: number }): string {
  const bounded = `timeout -k ${KILL_AFTER_SECONDS} ${options.timeoutSeconds} sh -c ${shellQuote(command)}`;
  return options.sudo ? `sudo -n ${bounded}` : bounded;
}

/** The subset of ssh2's Client and channel we use (node-ssh's typings leave them untyped). */
interface RawChannel {
  on(event: "data", listener: (chunk: Buffer) => void): this;
  on(event: "exit", listener: (code: number | null, signal?: string) => void): this;
  on(event: "close", listener: () => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  stderr: { on(event: "data", listener: (chunk: Buffer) => void): void };
  end(data?: Buffer): void;
}
interface RawClient {
  exec(command: string, callback: (error: Error | undefined, channel: RawChannel) => void): boolean;
  on(event: "error" | "end" | "close", listener: (error?: Error) => void): this;
  end(): void;
}

type Lifecycle = { ssh: NodeSSH; client: RawClient; lost?: Error; closed: Promise<void> };

export class Connection {
  private opening: Promise<Lifecycle> | undefined;
  private live: Lifecycle | undefined;
  private disposed = false;
  /** What host key verification decided at the last connect (for `hosts trust` and messages). */
  hostKeyVerdict: HostKeyVerdict | undefined;

  constructor(
    readonly target: HostTarget,
    readonly settings: ConnectionSettings,
    /** The gateway this host is reached through (the bastion), or none for a direct connection. */
    readonly gateway?: Connection,
  ) {}

  get name(): string {
    return this.target.name;
  }

  /** Connects now if not yet connected. Throws OpsError (unreachable) naming the host, the step and the remedy. */
  async open(): Promise<void> {
    this.refusePinConflict("connect");
    if (this.settings.relay) return this.settings.relay.open(this);
    await this.lifecycle();
  }

  /** An inventory pin that disagrees with known_hosts refuses the host before anything is sent (host-keys.ts). */
  private refusePinConflict(step: string): void {
    let conflict: string | undefined;
    try {
      conflict = this.settings.hostKeys.pinConflict(this.target);
    } catch (error) {
      if (error instanceof HostKeyFileError) throw new OpsError(this.name, "verify host key", error.message, "fix the known_hosts file's mode", "unreachable");
      throw error;
    }
    if (conflict) {
      const fingerprint = this.settings.hostKeys.options.pinned?.[this.target.name] ?? "";
      const { message, remedy } = describeRefusal(this.target, { kind: "mismatch", fingerprint, keyType: "", reason: conflict }, this.settings.hostKeys.options.knownHostsFile);
      throw new OpsError(this.name, step === "connect" ? "verify host key" : step, message, remedy, "unreachable");
    }
  }

  get isOpen(): boolean {
    return this.live !== undefined && this.live.lost === undefined;
  }

  private lifecycle(): Promise<Lifecycle> {
    if (this.disposed) return Promise.reject(new OpsError(this.name, "connect", "connection already closed", "this is a bug in the command"));
    if (!this.opening) {
      this.opening = this.connect().catch((error: unknown) => {
        this.opening = undefined; // a later step may try again
        throw error;
      });
    }
    return this.opening;
  }

  private via(): string {
    return this.gateway ? ` via ${this.gateway.name}` : "";
  }

  private async connect(): Promise<Lifecycle> {
    const { settings, target } = this;
    const timeoutMs = settings.connectTimeoutMs;
    let sock: unknown;
    if (this.gateway) {
      const gateway = this.gateway;
      try {
        await gateway.open();
      } catch (error) {
        // Say so on this host too, so every host reports why it was not reached.
        const cause = error instanceof OpsError ? error : new OpsError(gateway.name, "connect", String(error), "");
        throw new OpsError(this.name, "connect", `not reached: gateway ${gateway.name} failed at ${cause.step}: ${cause.message}`, cause.remedy, "unreachable");
      }
      try {
        sock = await gateway.forwardOut(target.address, target.port, timeoutMs);
      } catch (error) {
        if (error instanceof OpsError) throw new OpsError(this.name, error.step, error.message, error.remedy, error.status);
        throw error;
      }
    }
    let check: HostKeyCheck;
    try {
      check = settings.hostKeys.check(target);
    } catch (error) {
      if (error instanceof HostKeyFileError) throw new OpsError(this.name, "verify host key", error.message, "fix the known_hosts file's mode", "unreachable");
      throw error;
    }
    // Loaded on first connect: a command served by the agent, or one that never connects, skips ssh2's ~80 ms load.
    const { NodeSSH } = await import("node-ssh");
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        ...(sock ? { sock: sock as never } : { host: target.address }),
        port: target.port,
        username: settings.user,
        // Exactly one method (the key, or the ssh-agent): ssh2's default tries "none" first, one more round trip per
        // host for nothing, and would try every key an agent holds.
        authHandler: authHandlerFor(settings.auth, settings.user) as never,
        readyTimeout: timeoutMs,
        keepaliveInterval: settings.keepaliveIntervalMs,
        keepaliveCountMax: settings.keepaliveCountMax,
        hostVerifier: check.hostVerifier,
        // Modern algorithms only: no ssh-rsa (SHA-1) host key signatures, no hmac-sha1 (ssh-algorithms.ts).
        algorithms: sshAlgorithms(check.hostKeyTypes) as never,
      });
    } catch (error) {
      this.hostKeyVerdict = check.verdict();
      ssh.dispose();
      throw this.connectError(error as Error, check.verdict());
    }
    this.hostKeyVerdict = check.verdict();
    const client = ssh.connection as unknown as RawClient;
    let markClosed: () => void = () => undefined;
    const life: Lifecycle = { ssh, client, closed: new Promise<void>((r) => (markClosed = r)) };
    // Permanent listeners: node-ssh removed its own; an unhandled `error` would crash the process.
    client.on("error", (error) => {
      life.lost ??= error ?? new Error("connection error");
    });
    const gone = (reason: string) => {
      life.lost ??= new Error(reason);
      if (this.live === life) {
        this.live = undefined; // the next step connects again
        this.opening = undefined;
      }
      markClosed();
    };
    // A node's transport is a channel of the gateway's connection: when the node's sshd goes away the channel only
    // ends (ssh2 emits `end`, and `close` not before we end our side), and every later exec would fail "Not connected".
    client.on("end", () => {
      gone("connection ended by the host");
      client.end();
    });
    client.on("close", () => gone("connection closed"));
    this.live = life;
    return life;
  }

  private connectError(error: Error, verdict: HostKeyVerdict | undefined): OpsError {
    return describeConnectError(this.target, this.settings, this.gateway?.name, error, verdict);
  }

  /**
   * Opens a `direct-tcpip` channel from this host to address:port (how nodes are reached through the bastion).
   * Bounded by `timeoutMs`: sshd on the gateway may wait minutes for a dead target's TCP handshake.
   */
  async forwardOut(address: string, port: number, timeoutMs = this.settings.connectTimeoutMs): Promise<unknown> {
    const life = await this.lifecycle();
    const opening = life.ssh.forwardOut("127.0.0.1", 0, address, port);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new OpsError(this.name, "connect", `${this.name} could not reach ${address}:${port} within ${timeoutMs / 1000} s`, `check that the host at ${address} is running and that ${this.name} may reach it on port ${port}`, "unreachable")),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([opening, timeout]);
    } catch (error) {
      if (error instanceof OpsError) {
        // A channel that opens after we gave up must not leak.
        opening.then((ch) => (ch as { destroy?: () => void }).destroy?.(), () => undefined);
        throw error;
      }
      const reason = (error as Error).message;
      throw new OpsError(
        this.name,
        "connect",
        `${this.name} could not open a channel to ${address}:${port}: ${reason}`,
        `check that the host at ${address} is running and its sshd listens on port ${port}`,
        "unreachable",
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs a shell command, bounded server-side. Resolves with the exit code whatever it is (check it, or use
   * `runChecked`); throws OpsError `unreachable` when the host cannot be reached and `unknown` when the connection dies
   * while the command runs (it may or may not have taken effect).
   */
  async run(command: string, options: RunOptions = {}): Promise<CommandResult> {
    const step = options.step ?? "run";
    const timeoutSeconds = options.timeoutSeconds ?? this.settings.commandTimeoutSeconds;
    const wire = wrapCommand(command, { sudo: options.sudo ?? this.settings.sudo, timeoutSeconds });
    const started = Date.now();
    const exec: WireExec = {
      stdin: options.stdin === undefined ? undefined : Buffer.isBuffer(options.stdin) ? options.stdin : Buffer.from(options.stdin),
      step,
      label: options.label ?? command,
      guardMs: timeoutSeconds * 1000 + CLIENT_GRACE_MS,
    };
    if (this.settings.relay) this.refusePinConflict(step);
    const outcome = this.settings.relay ? await this.settings.relay.exec(this, wire, exec) : await this.execWire(wire, exec);
    return { command: options.label ?? command, ...outcome, durationMs: Date.now() - started };
  }

  /**
   * Sends a command line as it is (already wrapped) on this host's own SSH connection and waits for its exit. What
   * `run` does without a relay, and what the agent does for its clients.
   */
  async execWire(wire: string, exec: WireExec): Promise<WireOutcome> {
    const life = await this.lifecycle();
    const { step } = exec;
    if (life.lost) throw this.lostError(step, life.lost);
    return await new Promise<WireOutcome>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let exitCode: number | null = null;
      let signal: string | undefined;
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(guard);
        fn();
      };
      const guard = setTimeout(
        () => finish(() => reject(new OpsError(this.name, step, `no answer within ${exec.guardMs / 1000} s after starting \`${exec.label}\`: outcome unknown`, `check ${this.name} by hand before retrying`, "unknown"))),
        exec.guardMs,
      );
      void life.closed.then(() => finish(() => reject(this.lostError(step, life.lost ?? new Error("connection closed")))));
      try {
        life.client.exec(wire, (error, channel) => {
          if (error) {
            finish(() => reject(life.lost ? this.lostError(step, life.lost) : new OpsError(this.name, step, `could not start the command: ${error.message}`, "retry; if it persists check sshd on the host (MaxSessions)")));
            return;
          }
          channel.on("data", (chunk) => stdout.push(chunk));
          channel.stderr.on("data", (chunk) => stderr.push(chunk));
          channel.on("error", () => undefined);
          channel.on("exit", (code, sig) => {
            exitCode = code;
            signal = sig;
          });
          channel.on("close", () => {
            if (exitCode === null) {
              // No exit status: the link died (keepalive timeout) or the server dropped us mid-command.
              finish(() => reject(this.lostError(step, life.lost ?? new Error(signal ? `killed by ${signal}` : "channel closed without an exit status"))));
              return;
            }
            const outcome: WireOutcome = { exitCode, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8") };
            finish(() => resolve(outcome));
          });
          channel.end(exec.stdin);
        });
      } catch (error) {
        finish(() => reject(this.lostError(step, error as Error)));
      }
    });
  }

  private lostError(step: string, cause: Error): OpsError {
    return new OpsError(
      this.name,
      step,
      `connection to ${this.name}${this.via()} lost during ${step} (${cause.message}): outcome unknown`,
      `check ${this.name} by hand (did the step take effect?) before retrying`,
      "unknown",
    );
  }

  /** Like `run`, but a non-zero exit is an OpsError naming the step, with the command's stderr. */
  async runChecked(command: string, options: RunOptions & { remedy?: string } = {}): Promise<CommandResult> {
    const result = await this.run(command, options);
    if (result.exitCode !== 0) throw commandFailure(this.name, options.step ?? "run", result, options.remedy, options.timeoutSeconds ?? this.settings.commandTimeoutSeconds);
    return result;
  }

  /**
   * Writes a file atomically: staged in a root-only directory beside the target, checked against its sha256, owner
   * and mode set, fsync, the previous version kept as `<path>.bak`, then renamed over the target, so readers see the
   * old file or the new one, never a part. No link on the path is ever followed (files.ts, safe-files.py).
   * Resolves `{changed: false}` when the file already had this content, owner and mode.
   */
  put(remotePath: string, content: Buffer | string, options: PutOptions = {}): Promise<{ changed: boolean }> {
    return putFile(this, remotePath, content, options);
  }

  /** Makes the missing directories of a path (owner, group, mode); existing directories keep their owner and mode. */
  ensureDirectory(remotePath: string, options: DirectoryOptions & { sudo?: boolean; step?: string } = {}): Promise<void> {
    return ensureDirectory(this, remotePath, options);
  }

  /** Copies files into a root-only backup directory (made if missing). Resolves the paths that did not exist. */
  backupFiles(backupDir: string, files: readonly BackupEntry[], options: { sudo?: boolean; step?: string } = {}): Promise<{ absent: string[] }> {
    return backupFiles(this, backupDir, files, options);
  }

  /** Puts backed-up files back (each through a staging file and a rename); removes those marked absent. */
  restoreFiles(backupDir: string, files: readonly RestoreEntry[], options: { sudo?: boolean; step?: string; parents?: ParentPolicy } = {}): Promise<void> {
    return restoreFiles(this, backupDir, files, options);
  }

  /** Renames files on one filesystem, never onto or through a link; `missing` names a source missing at both ends. */
  moveFiles(files: ReadonlyArray<{ from: string; to: string }>, options: MoveOptions & { sudo?: boolean; step?: string } = {}): Promise<{ missing?: string }> {
    return moveFiles(this, files, options);
  }

  /** A remote regular file's bytes (never read through a link), or undefined when it does not exist. */
  read(remotePath: string, options: { sudo?: boolean; step?: string } = {}): Promise<Buffer | undefined> {
    return readFile(this, remotePath, options);
  }

  async readText(remotePath: string, options: { sudo?: boolean; step?: string } = {}): Promise<string | undefined> {
    return (await this.read(remotePath, options))?.toString("utf8");
  }

  /** A remote file's bytes; a missing file is an error. */
  async get(remotePath: string, options: { sudo?: boolean; step?: string } = {}): Promise<Buffer> {
    const content = await this.read(remotePath, options);
    if (content === undefined) throw new OpsError(this.name, options.step ?? `get ${remotePath}`, `${remotePath} does not exist on ${this.name}`, "check the path");
    return content;
  }

  /** Closes this connection (not its gateway). Safe to call twice. */
  async close(): Promise<void> {
    this.disposed = true;
    const live = this.live ?? (await this.opening?.catch(() => undefined));
    this.live = undefined;
    this.opening = undefined;
    if (live) {
      live.ssh.dispose();
      // Wait briefly for the close to land (so the gateway closes after its channels), never holding the process.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([live.closed, new Promise((r) => (timer = setTimeout(r, 1000).unref()))]);
      clearTimeout(timer);
    }
  }
}
