/**
 * `pool-ops agent start|status|stop`: a long-lived process that keeps the SSH connections (bastion, and nodes
 * through it) open between commands, as OpenSSH's ControlPersist does for ssh and Ansible. While it runs, commands
 * with the same user, key and known_hosts send their steps through it and skip every handshake; `--no-agent` opts
 * a command out. Host keys are verified by the agent against the same known_hosts (names, instance ids and addresses
 * included; the client passes no pins).
 *
 * What the agent is given: the login (a key file's text and its passphrase, or the ssh-agent socket) over a pipe, read
 * once at start — never on its command line or in its environment — and an environment stripped to what a Node
 * process needs: no AWS credentials, no passphrase file, no SSH_AUTH_SOCK (an ssh-agent socket it logs in through
 * comes over the pipe too).
 */
import { spawn } from "node:child_process";
import { text } from "node:stream/consumers";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { EXIT_HOST_FAILURE, EXIT_OK, exitStatus, opsAction, stateDir, type OpsContext } from "../context";
import { formatDuration } from "../output";
import { AgentClient } from "../remote/agent-client";
import { agentSocketPath } from "../remote/agent-protocol";
import { AgentSetupError, DEFAULT_AGENT_IDLE_SECONDS, ensurePrivateDirectory, startAgentServer } from "../remote/agent-server";
import { OpsError } from "../remote/result";
import { InventoryError } from "../remote/inventory";
import { keyTextAuth, openSshAgent, type KeyFileAuth, type SshAgentAuth } from "../remote/operator-identity";

/** How long `agent start` waits for the new agent's socket to answer. */
const START_TIMEOUT_MS = 15_000;

function minutes(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number of minutes above 0");
  return n;
}

function idleMinutesOption(): Option {
  return new Option("--idle-minutes <n>", `exit after this long without a command (default ${DEFAULT_AGENT_IDLE_SECONDS / 60})`).argParser(minutes).default(DEFAULT_AGENT_IDLE_SECONDS / 60);
}

async function socketOf(ctx: OpsContext): Promise<string> {
  return agentSocketPath(stateDir(), await ctx.agentIdentity());
}

function logOf(socket: string): string {
  return socket.replace(/\.sock$/, ".log");
}

/**
 * The environment the agent runs with: only what Node and pool-ops' own paths need. Everything else the operator's
 * shell holds — AWS credentials and profiles above all, the passphrase file, tokens — stays out of a process that
 * lives for minutes after the command that started it.
 */
const AGENT_ENVIRONMENT = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "NO_COLOR", "POOL_OPS_STATE_DIR", "POOL_OPS_DEBUG"] as const;

export function agentEnvironment(from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of AGENT_ENVIRONMENT) if (from[name] !== undefined) env[name] = from[name]!;
  return env;
}

/** The login as it crosses the pipe to the agent (read once by `agent serve --auth-from-stdin`). */
type HandedAuth = { kind: "key"; source: string; keyText: string; passphrase?: string } | { kind: "agent"; socket: string };

function handOver(auth: KeyFileAuth | SshAgentAuth): HandedAuth {
  return auth.kind === "key" ? { kind: "key", source: auth.source, keyText: auth.keyText, ...(auth.passphrase !== undefined ? { passphrase: auth.passphrase } : {}) } : { kind: "agent", socket: auth.socket };
}

async function takeOver(handed: string): Promise<KeyFileAuth | SshAgentAuth> {
  let value: HandedAuth;
  try {
    value = JSON.parse(handed) as HandedAuth;
  } catch {
    throw new OpsError("-", "start agent", "the login handed over on stdin is not JSON", "start the agent with `pool-ops agent start`", "failed");
  }
  if (value.kind === "key" && typeof value.keyText === "string") return keyTextAuth(value.keyText, String(value.source), value.passphrase);
  if (value.kind === "agent" && typeof value.socket === "string") return openSshAgent(value.socket);
  throw new OpsError("-", "start agent", "the login handed over on stdin is not one pool-ops understands", "start the agent with `pool-ops agent start`", "failed");
}

/** Starts `pool-ops agent serve` detached, hands it this command's login over a pipe, and waits until it answers. */
async function spawnAgent(ctx: OpsContext, socket: string, idleMinutes: number): Promise<AgentClient> {
  const identity = await ctx.agentIdentity();
  const auth = await ctx.operatorAuth();
  try {
    ensurePrivateDirectory(resolve(socket, ".."));
  } catch (error) {
    throw new OpsError("-", "start agent", (error as Error).message, "fix the directory's ownership or mode, or set POOL_OPS_STATE_DIR", "failed");
  }
  const log = openSync(logOf(socket), "a", 0o600);
  const args = [process.argv[1]!, "--known-hosts", resolve(identity.knownHostsFile), "--user", identity.user, "agent", "serve", "--auth-from-stdin", "--idle-minutes", String(idleMinutes)];
  const child = spawn(process.execPath, args, { detached: true, stdio: ["pipe", log, log], env: agentEnvironment() });
  closeSync(log);
  child.stdin!.end(JSON.stringify(handOver(auth)));
  let exited: number | null | undefined;
  child.on("exit", (code) => (exited = code));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && exited === undefined) {
    const client = await AgentClient.connect(socket);
    if (client) {
      child.unref();
      return client;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (exited === undefined) child.kill();
  const tail = existsSync(logOf(socket)) ? readFileSync(logOf(socket), "utf8").trim().split("\n").slice(-3).join(" | ") : "";
  throw new OpsError("-", "start agent", `the agent did not start${exited !== undefined ? ` (exited ${exited})` : ` within ${START_TIMEOUT_MS / 1000} s`}${tail ? `: ${tail}` : ""}`, `see ${logOf(socket)}`, "failed");
}

function startCommand(): Command {
  return new Command("start")
    .description("start the agent for this user, key and known_hosts, then connect to the selected hosts through it")
    .addOption(idleMinutesOption())
    .option("--no-connect", "do not connect to the hosts now (connections then open on first use)")
    .action(
      opsAction(async (ctx, options: { idleMinutes: number; connect: boolean }) => {
        const socket = await socketOf(ctx);
        const running = await ctx.agent();
        if (running) {
          const status = await running.status();
          ctx.out.info(`an agent already runs for this identity (pid ${status.pid}, since ${status.startedAt}): ${socket}`);
        } else {
          (await spawnAgent(ctx, socket, options.idleMinutes)).close();
          ctx.out.info(`agent started: ${socket} (exits after ${options.idleMinutes} min without a command; \`pool-ops agent stop\` to end it now)`);
        }
        if (!options.connect) return EXIT_OK;
        let hosts;
        try {
          hosts = await ctx.selectedHosts();
        } catch (error) {
          if (!(error instanceof InventoryError)) throw error;
          ctx.out.info("no inventory given: connections will open on first use");
          return EXIT_OK;
        }
        // The fleet now finds the agent: opening through it makes the agent connect (and verify host keys) now.
        const group = await ctx.group(hosts);
        const result = await group.each(async (connection) => {
          await connection.open();
        });
        if (ctx.out.json) ctx.out.data(result);
        return exitStatus(result);
      }),
    );
}

function statusCommand(): Command {
  return new Command("status")
    .description("show the agent for this user, key and known_hosts, and the connections it holds")
    .action(
      opsAction(async (ctx) => {
        const agent = await ctx.agent();
        if (!agent) {
          const socket = await socketOf(ctx);
          if (ctx.out.json) ctx.out.data({ running: false, socket });
          else ctx.out.info(`no agent runs for this identity (${socket})`);
          return EXIT_HOST_FAILURE;
        }
        const status = await agent.status();
        if (ctx.out.json) {
          ctx.out.data({ running: true, socket: agent.socketPath, ...status });
          return EXIT_OK;
        }
        ctx.out.info(`agent pid ${status.pid}, up ${formatDuration(Date.now() - Date.parse(status.startedAt))}, exits after ${status.idleExitSeconds / 60} min idle; socket ${agent.socketPath}; known_hosts ${status.knownHostsFile}; login ${status.auth}`);
        for (const c of status.connections) ctx.out.info(`  ${c.host.padEnd(14)} ${c.address.padEnd(22)} ${(c.via ? `via ${c.via}` : "direct").padEnd(16)} ${c.open ? "open" : "closed"}`);
        if (status.connections.length === 0) ctx.out.info("  no connections yet");
        return EXIT_OK;
      }),
    );
}

function stopCommand(): Command {
  return new Command("stop")
    .description("close the agent's connections and end it")
    .action(
      opsAction(async (ctx) => {
        const agent = await ctx.agent();
        if (!agent) {
          ctx.out.info("no agent was running for this identity");
          return EXIT_OK;
        }
        const socket = agent.socketPath;
        await agent.stop();
        const deadline = Date.now() + 10_000;
        while (existsSync(socket) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (existsSync(socket)) throw new OpsError("-", "stop agent", `the agent at ${socket} did not stop within 10 s`, "look for a `pool-ops agent serve` process and end it", "failed");
        ctx.out.info("agent stopped");
        return EXIT_OK;
      }),
    );
}

/** Runs the agent in the foreground (what `agent start` spawns; also usable under a process supervisor). */
function serveCommand(): Command {
  return new Command("serve")
    .description("run the agent in the foreground (what `agent start` runs in the background)")
    .addOption(idleMinutesOption())
    .option("--auth-from-stdin", "read the login from stdin (how `agent start` hands it over)")
    .action(
      opsAction(async (ctx, options: { idleMinutes: number; authFromStdin?: boolean }) => {
        if (options.authFromStdin) ctx.agentAuth = await takeOver(await text(process.stdin));
        const identity = await ctx.agentIdentity();
        let agent;
        try {
          agent = await startAgentServer({
            socketPath: await socketOf(ctx),
            user: identity.user,
            auth: await ctx.operatorAuth(),
            knownHostsFile: resolve(identity.knownHostsFile),
            idleExitSeconds: Math.round(options.idleMinutes * 60),
            log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
          });
        } catch (error) {
          if (error instanceof AgentSetupError) throw new OpsError("-", "start agent", error.message, "see the message", "failed");
          throw error;
        }
        const stop = (signal: string) => void agent.shutdown(`got ${signal}`);
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
        await agent.stopped;
        return EXIT_OK;
      }),
    );
}

export function agentCommand(): Command {
  return new Command("agent")
    .description("keep SSH connections open between commands (like ssh ControlPersist): start, status, stop")
    .addCommand(startCommand())
    .addCommand(statusCommand())
    .addCommand(stopCommand())
    .addCommand(serveCommand(), { hidden: true });
}
