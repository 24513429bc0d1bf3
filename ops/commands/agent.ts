/**
 * `pool-ops agent start|status|stop`: a long-lived process that keeps the SSH connections (bastion, and nodes
 * through it) open between commands, as OpenSSH's ControlPersist does for ssh and Ansible. While it runs, commands
 * with the same user, key and known_hosts send their steps through it and skip every handshake; `--no-agent` opts
 * a command out. Host keys are verified by the agent against the same known_hosts and pinned fingerprints.
 */
import { spawn } from "node:child_process";
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

function socketOf(ctx: OpsContext): string {
  return agentSocketPath(stateDir(), ctx.agentIdentity);
}

function logOf(socket: string): string {
  return socket.replace(/\.sock$/, ".log");
}

/** Starts `pool-ops agent serve` detached, with this command's identity made explicit, and waits until it answers. */
async function spawnAgent(ctx: OpsContext, socket: string, idleMinutes: number): Promise<AgentClient> {
  const identity = ctx.agentIdentity;
  try {
    ensurePrivateDirectory(resolve(socket, ".."));
  } catch (error) {
    throw new OpsError("-", "start agent", (error as Error).message, "fix the directory's ownership or mode, or set POOL_OPS_STATE_DIR", "failed");
  }
  const log = openSync(logOf(socket), "a", 0o600);
  const args = [process.argv[1]!, "--identity", resolve(ctx.identityFile), "--known-hosts", resolve(identity.knownHostsFile), "--user", identity.user, "agent", "serve", "--idle-minutes", String(idleMinutes)];
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", log, log], env: process.env });
  closeSync(log);
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
        const socket = socketOf(ctx);
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
          if (ctx.out.json) ctx.out.data({ running: false, socket: socketOf(ctx) });
          else ctx.out.info(`no agent runs for this identity (${socketOf(ctx)})`);
          return EXIT_HOST_FAILURE;
        }
        const status = await agent.status();
        if (ctx.out.json) {
          ctx.out.data({ running: true, socket: agent.socketPath, ...status });
          return EXIT_OK;
        }
        ctx.out.info(`agent pid ${status.pid}, up ${formatDuration(Date.now() - Date.parse(status.startedAt))}, exits after ${status.idleExitSeconds / 60} min idle; socket ${agent.socketPath}; known_hosts ${status.knownHostsFile}`);
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
    .action(
      opsAction(async (ctx, options: { idleMinutes: number }) => {
        const identity = ctx.agentIdentity;
        let agent;
        try {
          agent = await startAgentServer({
            socketPath: socketOf(ctx),
            user: identity.user,
            privateKey: identity.privateKey,
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
