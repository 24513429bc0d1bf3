/**
 * The pool-ops agent: holds SSH connections (the bastion's, and each node's riding a channel of it) between
 * commands, like OpenSSH's ControlMaster with ControlPersist. A command that finds it runs its steps here instead of
 * paying a bastion handshake and a node handshake per host.
 *
 * Trust stays where it was: every connection is verified against the agent's own known_hosts file — the host's name,
 * instance id, address and key together, exactly as a direct command does; a client cannot pass pins or other trust
 * across the socket. When the known_hosts file changes, every connection is retired and new ones are verified against
 * the new file (a replaced host, a revoked key). Every request is checked against the protocol's schema: a malformed
 * one gets an error reply, never a crash. The socket is 0600 in a directory only its owner can enter. The agent holds
 * the operator's login (a key in memory, or the ssh-agent's socket) and nothing else: it is started with an
 * environment that carries no AWS credentials. It logs which hosts it connects to, never a command or its output.
 * It exits after an idle period.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { jsonLineReader, MAX_SOCKET_PATH, parseAgentRequest, type AgentError, type AgentReply, type AgentRequest, type AgentRoute, type AgentStatus } from "./agent-protocol";
import { Connection, type ConnectionSettings, type HostTarget } from "./connection";
import { HostKeyPolicy } from "./host-keys";
import { describeAuth, type OperatorAuth } from "./operator-identity";
import { OpsError } from "./result";

export interface AgentServerOptions {
  readonly socketPath: string;
  readonly user: string;
  /** How the agent logs in: a key held in this process's memory only (as ssh-agent does), or an ssh-agent's socket. */
  readonly auth: OperatorAuth;
  readonly knownHostsFile: string;
  /** Exit after this long without a request. @default 900 (15 minutes) */
  readonly idleExitSeconds?: number;
  /** One line per event (start, connect, drop, exit). @default none */
  readonly log?: (line: string) => void;
}

export const DEFAULT_AGENT_IDLE_SECONDS = 900;

export class AgentSetupError extends Error {
  override name = "AgentSetupError";
}

/** Refuses a socket directory other users could enter or replace: they could talk to the agent or stand in for it. */
export function ensurePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory()) throw new AgentSetupError(`${dir} is not a directory`);
  if (uid !== undefined && stat.uid !== uid) throw new AgentSetupError(`${dir} belongs to uid ${stat.uid}, not to you (uid ${uid}): refusing to put the agent's socket there`);
  if ((stat.mode & 0o077) !== 0) throw new AgentSetupError(`${dir} is open to other users (mode ${(stat.mode & 0o777).toString(8)}): run \`chmod 700 ${dir}\``);
}

/** Whether something answers on the socket (a live agent) rather than a file left by one that died. */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function knownHostsStamp(file: string): string {
  if (!existsSync(file)) return "missing";
  const s = statSync(file);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

function routeKey(target: HostTarget, route: AgentRoute): string {
  return JSON.stringify([target.name, target.address, target.port, target.instanceId ?? null, target.pool ?? null, route.connectTimeoutMs, route.keepaliveIntervalMs, route.keepaliveCountMax]);
}

function toAgentError(host: string, step: string, error: unknown, status: AgentError["status"]): AgentError {
  if (error instanceof OpsError) return { host: error.host, step: error.step, message: error.message, remedy: error.remedy, status: error.status };
  return { host, step, message: (error as Error)?.message ?? String(error), remedy: `check ${host} by hand before retrying`, status };
}

export interface RunningAgent {
  /** Resolves when the agent has stopped (idle, `stop` request, or `shutdown()`). */
  readonly stopped: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

export async function startAgentServer(options: AgentServerOptions): Promise<RunningAgent> {
  const { socketPath } = options;
  const log = options.log ?? (() => undefined);
  const idleExitSeconds = options.idleExitSeconds ?? DEFAULT_AGENT_IDLE_SECONDS;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new AgentSetupError(`socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes (the Unix limit): set POOL_OPS_STATE_DIR to a shorter directory`);
  }
  ensurePrivateDirectory(dirname(socketPath));
  if (existsSync(socketPath)) {
    if (await socketAnswers(socketPath)) throw new AgentSetupError(`an agent already answers on ${socketPath}`);
    unlinkSync(socketPath); // left by an agent that died
  }

  const startedAt = new Date();
  /**
   * Connections made under one version of the known_hosts file. When the file changes, the generation is retired:
   * new requests get fresh connections (verified against the new file) and the old ones close once the commands
   * still running on them have finished, so a host key learnt by one command does not cut another one's step short.
   */
  type Generation = { readonly connections: Map<string, Connection>; inFlight: number };
  const newGeneration = (): Generation => ({ connections: new Map(), inFlight: 0 });
  let current = newGeneration();
  /** Retired generations still finishing commands (closed when their last one ends). */
  const retired = new Set<Generation>();
  let stamp = knownHostsStamp(options.knownHostsFile);
  let inFlight = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let markStopped: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (markStopped = r));
  const clients = new Set<Socket>();

  const closeGeneration = async (generation: Generation) => {
    retired.delete(generation);
    const all = [...generation.connections.values()];
    generation.connections.clear();
    // Nodes before their gateway, so each node's channel closes on a live bastion connection.
    await Promise.all(all.filter((c) => c.gateway).map((c) => c.close()));
    await Promise.all(all.filter((c) => !c.gateway).map((c) => c.close()));
  };

  /** The generation a request works in: a new one when known_hosts changed since the current one began. */
  const generationNow = (): Generation => {
    const now = knownHostsStamp(options.knownHostsFile);
    if (now !== stamp) {
      log(`known_hosts changed: ${current.connections.size} connection(s) retired, new ones will be verified against it`);
      stamp = now;
      if (current.inFlight === 0) void closeGeneration(current);
      else retired.add(current);
      current = newGeneration();
    }
    return current;
  };

  const connectionFor = (generation: Generation, route: AgentRoute): Connection => {
    const { connections } = generation;
    const settingsFor = (): ConnectionSettings => ({
      user: options.user,
      auth: options.auth,
      hostKeys: new HostKeyPolicy({ knownHostsFile: options.knownHostsFile }),
      connectTimeoutMs: route.connectTimeoutMs,
      keepaliveIntervalMs: route.keepaliveIntervalMs,
      keepaliveCountMax: route.keepaliveCountMax,
      commandTimeoutSeconds: 60, // unused: clients send commands already bounded
      sudo: false,
    });
    let gateway: Connection | undefined;
    if (route.gateway) {
      const key = routeKey(route.gateway, route);
      gateway = connections.get(key);
      if (!gateway) {
        gateway = new Connection(route.gateway, settingsFor());
        connections.set(key, gateway);
        log(`new connection: ${route.gateway.name} (${route.gateway.address}:${route.gateway.port})`);
      }
    }
    const key = `${routeKey(route.host, route)}${route.gateway ? ` via ${routeKey(route.gateway, route)}` : ""}`;
    let connection = connections.get(key);
    if (!connection) {
      connection = new Connection(route.host, settingsFor(), gateway);
      connections.set(key, connection);
      log(`new connection: ${route.host.name} (${route.host.address}:${route.host.port})${gateway ? ` via ${gateway.name}` : ""}`);
    }
    return connection;
  };

  /** Runs one request's work in the current generation, keeping that generation open until it is done. */
  const within = async <T>(work: (generation: Generation) => Promise<T>): Promise<T> => {
    const generation = generationNow();
    generation.inFlight++;
    try {
      return await work(generation);
    } finally {
      generation.inFlight--;
      if (generation !== current && generation.inFlight === 0) void closeGeneration(generation);
    }
  };

  const status = (): AgentStatus => ({
    pid: process.pid,
    startedAt: startedAt.toISOString(),
    idleExitSeconds,
    knownHostsFile: options.knownHostsFile,
    user: options.user,
    auth: describeAuth(options.auth),
    connections: [...current.connections.values()].map((c) => ({ host: c.name, address: `${c.target.address}:${c.target.port}`, ...(c.gateway ? { via: c.gateway.name } : {}), open: c.isOpen })),
  });

  const armIdle = () => {
    clearTimeout(idleTimer);
    if (inFlight === 0) idleTimer = setTimeout(() => void shutdown(`idle for ${idleExitSeconds} s`), idleExitSeconds * 1000);
  };

  const handle = async (request: AgentRequest): Promise<AgentReply> => {
    switch (request.op) {
      case "status":
        return { id: request.id, ok: true, status: status() };
      case "stop":
        setImmediate(() => void shutdown("asked to stop"));
        return { id: request.id, ok: true };
      case "open":
        try {
          await within((generation) => connectionFor(generation, request.route).open());
          return { id: request.id, ok: true };
        } catch (error) {
          return { id: request.id, ok: false, error: toAgentError(request.route.host.name, "connect", error, "unreachable") };
        }
      case "exec":
        try {
          const outcome = await within((generation) =>
            connectionFor(generation, request.route).execWire(request.command, {
              stdin: request.stdin === undefined ? undefined : Buffer.from(request.stdin, "base64"),
              step: request.step,
              label: request.label,
              guardMs: request.guardMs,
            }),
          );
          return { id: request.id, ok: true, exitCode: outcome.exitCode, stdout: outcome.stdout.toString("base64"), stderr: outcome.stderr };
        } catch (error) {
          return { id: request.id, ok: false, error: toAgentError(request.route.host.name, request.step, error, "unknown") };
        }
    }
  };

  /** Any line a client sends: checked against the schema first; whatever happens, an answer and no crash. */
  const answer = async (message: unknown): Promise<AgentReply> => {
    const parsed = parseAgentRequest(message);
    if (!parsed.ok) {
      log(`refused a malformed request (${parsed.problem})`);
      return { id: parsed.id, ok: false, error: { host: "-", step: "agent", message: `malformed request: ${parsed.problem}`, remedy: "run the command with --no-agent, or restart the agent (a pool-ops of another version?)", status: "failed" } };
    }
    try {
      return await handle(parsed.request);
    } catch (error) {
      return { id: parsed.request.id, ok: false, error: toAgentError("-", "agent", error, "failed") };
    }
  };

  const server: Server = createServer((socket) => {
    clients.add(socket);
    socket.on("close", () => clients.delete(socket));
    socket.on("error", () => undefined);
    socket.on(
      "data",
      jsonLineReader<unknown>(
        (message) => {
          inFlight++;
          clearTimeout(idleTimer);
          void answer(message).then((reply) => {
            inFlight--;
            armIdle();
            if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
          });
        },
        () => socket.destroy(), // not a pool-ops client
      ),
    );
  });

  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log(`stopping: ${reason}`);
      clearTimeout(idleTimer);
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const c of clients) c.end();
      });
      await Promise.all([current, ...retired].map(closeGeneration));
      if (existsSync(socketPath)) unlinkSync(socketPath);
      markStopped();
    })();
    return stopping;
  };

  // The socket must never exist with wider permissions, not even between listen and chmod.
  const previousUmask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
  } finally {
    process.umask(previousUmask);
  }
  chmodSync(socketPath, 0o600);
  log(`listening on ${socketPath} (pid ${process.pid}, idle exit after ${idleExitSeconds} s, known_hosts ${options.knownHostsFile})`);
  armIdle();
  return { stopped, shutdown };
}
