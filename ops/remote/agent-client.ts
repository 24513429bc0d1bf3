/**
 * A command's side of the pool-ops agent (agent-server.ts): a `CommandRelay` that sends each host's steps to the agent
 * over its Unix socket and turns the replies back into what `Connection.run` returns or throws, so commands do not
 * know whether they went direct or through the agent.
 */
import { existsSync, lstatSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { createConnection, type Socket } from "node:net";
import { jsonLineReader, type AgentReply, type AgentRequest, type AgentRoute, type AgentStatus } from "./agent-protocol";
import type { CommandRelay, Connection, WireExec, WireOutcome } from "./connection";
import { OpsError } from "./result";

/** Beyond the command's own bound: time for the agent's reply to cross the socket. */
const REPLY_GRACE_MS = 2_000;

type Pending = { resolve: (reply: AgentReply) => void; reject: (error: Error) => void };
type Body<R> = R extends unknown ? Omit<R, "id"> : never;

/** A target as the protocol carries it (only the fields its schema allows). */
function wireTarget(target: Connection["target"]): AgentRoute["host"] {
  return {
    name: target.name,
    role: target.role,
    address: target.address,
    port: target.port,
    ...(target.instanceId ? { instanceId: target.instanceId } : {}),
    ...(target.pool ? { pool: target.pool } : {}),
  };
}

/**
 * The socket must be a socket owned by this user with no group or other bits, in a directory owned by this user that
 * no one else may enter (agent-server.ts makes them so; anything else was made by someone else).
 */
export function checkSocketOwnership(socketPath: string): void {
  const uid = process.getuid?.();
  const refuse = (what: string) =>
    new OpsError("-", "use agent", `refusing the agent socket ${socketPath}: ${what}; whoever answers on it would receive every command and its input`, `remove it (rm ${socketPath}) and start the agent again, or run with --no-agent`, "failed");
  const dir = lstatSync(dirname(socketPath));
  if (!dir.isDirectory()) throw refuse(`${dirname(socketPath)} is not a directory`);
  if (uid !== undefined && dir.uid !== uid) throw refuse(`its directory belongs to uid ${dir.uid}, not to you (uid ${uid})`);
  if ((dir.mode & 0o077) !== 0) throw refuse(`its directory is open to other users (mode ${(dir.mode & 0o777).toString(8)})`);
  const sock = lstatSync(socketPath);
  if (!sock.isSocket()) throw refuse("it is not a socket");
  if (uid !== undefined && sock.uid !== uid) throw refuse(`it belongs to uid ${sock.uid}, not to you (uid ${uid})`);
  if ((sock.mode & 0o077) !== 0) throw refuse(`it is open to other users (mode ${(sock.mode & 0o777).toString(8)})`);
}

/** The agent's error for a host, thrown as the OpsError the command would have thrown itself. */
function throwIfRefused(reply: AgentReply): asserts reply is Extract<AgentReply, { ok: true }> {
  if (!reply.ok) throw new OpsError(reply.error.host, reply.error.step, reply.error.message, reply.error.remedy, reply.error.status);
}

export class AgentClient implements CommandRelay {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lost: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly socketPath: string,
  ) {
    socket.on(
      "data",
      jsonLineReader<AgentReply>(
        (reply) => {
          const waiting = this.pending.get(reply.id);
          this.pending.delete(reply.id);
          waiting?.resolve(reply);
        },
        () => socket.destroy(new Error("the agent sent something that is not a reply")),
      ),
    );
    const fail = (error?: Error) => {
      this.lost ??= error ?? new Error("the agent closed the connection");
      for (const waiting of this.pending.values()) waiting.reject(this.lost);
      this.pending.clear();
    };
    socket.on("error", fail);
    socket.on("close", () => fail());
  }

  /**
   * The agent listening on `socketPath`, or undefined when none is (a socket file left by an agent that died is
   * removed, so the next command does not try it again). A socket, or its directory, that is not the user's own and
   * private is refused (OpsError): whoever answers on it would receive every command and its stdin, keys included.
   */
  static connect(socketPath: string): Promise<AgentClient | undefined> {
    if (!existsSync(socketPath)) return Promise.resolve(undefined);
    try {
      checkSocketOwnership(socketPath);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve) => {
      const socket = createConnection(socketPath);
      socket.once("connect", () => {
        socket.removeAllListeners("error");
        resolve(new AgentClient(socket, socketPath));
      });
      socket.once("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "ECONNREFUSED") {
          try {
            unlinkSync(socketPath);
          } catch {
            // another command removed it first
          }
        }
        resolve(undefined);
      });
    });
  }

  private request(body: Body<AgentRequest>, timeoutMs?: number): Promise<AgentReply> {
    if (this.lost) return Promise.reject(this.lost);
    const id = this.nextId++;
    return new Promise<AgentReply>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = <T>(fn: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        fn(v);
      };
      this.pending.set(id, { resolve: done(resolve), reject: done(reject) });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new Error(`no reply from the agent within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
      }
      this.socket.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  private static route(connection: Connection): AgentRoute {
    const { settings, target, gateway } = connection;
    // No pins: the agent trusts its own known_hosts only.
    return {
      host: wireTarget(target),
      ...(gateway ? { gateway: wireTarget(gateway.target) } : {}),
      connectTimeoutMs: settings.connectTimeoutMs,
      keepaliveIntervalMs: settings.keepaliveIntervalMs,
      keepaliveCountMax: settings.keepaliveCountMax,
    };
  }

  async open(connection: Connection): Promise<void> {
    let reply: AgentReply;
    try {
      // Through a gateway a connect is two handshakes, each bounded by the connect timeout.
      reply = await this.request({ op: "open", route: AgentClient.route(connection) }, connection.settings.connectTimeoutMs * 2 + REPLY_GRACE_MS);
    } catch (error) {
      throw new OpsError(connection.name, "connect", `the pool-ops agent (${this.socketPath}) failed: ${(error as Error).message}`, "run the command again with --no-agent, or restart the agent (`pool-ops agent stop`, `pool-ops agent start`)", "unreachable");
    }
    throwIfRefused(reply);
  }

  async exec(connection: Connection, wire: string, exec: WireExec): Promise<WireOutcome> {
    let reply: AgentReply;
    try {
      reply = await this.request(
        { op: "exec", route: AgentClient.route(connection), command: wire, ...(exec.stdin ? { stdin: exec.stdin.toString("base64") } : {}), step: exec.step, label: exec.label, guardMs: exec.guardMs },
        exec.guardMs + connection.settings.connectTimeoutMs * 2 + REPLY_GRACE_MS,
      );
    } catch (error) {
      throw new OpsError(
        connection.name,
        exec.step,
        `the pool-ops agent (${this.socketPath}) was lost during ${exec.step} (${(error as Error).message}): outcome unknown`,
        `check ${connection.name} by hand (did the step take effect?) before retrying`,
        "unknown",
      );
    }
    throwIfRefused(reply);
    return { exitCode: reply.exitCode ?? -1, stdout: Buffer.from(reply.stdout ?? "", "base64"), stderr: reply.stderr ?? "" };
  }

  async status(): Promise<AgentStatus> {
    const reply = await this.request({ op: "status" }, 10_000);
    if (!reply.ok || !reply.status) throw new Error(`the agent did not report its status`);
    return reply.status;
  }

  /** Asks the agent to close its connections and exit. */
  async stop(): Promise<void> {
    await this.request({ op: "stop" }, 10_000);
  }

  close(): void {
    this.socket.end();
  }
}
