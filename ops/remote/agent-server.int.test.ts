/**
 * The agent's socket as an attacker or a confused client would use it (no lab needed: `pool-ops agent serve` is
 * spawned as `agent start` spawns it): malformed requests get an error reply and the agent lives on; a route carrying
 * pins is refused; and a client refuses a socket (or directory) that is not the user's own and private.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POOL_OPS_BIN } from "../../lab/harness";
import { REPO_DIR } from "../../lab/lab";
import { AgentClient } from "./agent-client";

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sends raw lines to a socket and collects the replies (one JSON line each) until `count` came or the socket closed. */
function exchange(socketPath: string, lines: string[], count: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let buffer = "";
    const replies: Array<Record<string, unknown>> = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${replies.length} of ${count} replies within 10 s: ${JSON.stringify(replies)}`));
    }, 10_000);
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        replies.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
        buffer = buffer.slice(nl + 1);
      }
      if (replies.length >= count) {
        clearTimeout(timer);
        socket.end();
        resolve(replies);
      }
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(replies);
    });
    socket.on("error", reject);
    socket.write(lines.map((l) => `${l}\n`).join(""));
  });
}

describe("the agent's socket", () => {
  const dir = mkdtempSync(join(tmpdir(), "pool-ops-agent-sock-"));
  const stateDir = join(dir, "state");
  let agent: ChildProcess;
  let socket = "";
  beforeAll(async () => {
    const key = join(dir, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    agent = spawn(process.execPath, [POOL_OPS_BIN, "--known-hosts", join(dir, "known_hosts"), "--user", "admin", "agent", "serve", "--auth-from-stdin", "--idle-minutes", "5"], {
      cwd: REPO_DIR,
      env: { PATH: process.env.PATH ?? "", HOME: dir, POOL_OPS_STATE_DIR: stateDir },
      stdio: ["pipe", "ignore", "pipe"],
    });
    agent.stdin!.end(JSON.stringify({ kind: "key", source: key, keyText: readFileSync(key, "utf8") }));
    const agentDir = join(stateDir, "agent");
    await until("the agent's socket", () => {
      try {
        return readdirSync(agentDir).some((f) => f.endsWith(".sock"));
      } catch {
        return false;
      }
    });
    socket = join(agentDir, readdirSync(agentDir).find((f) => f.endsWith(".sock"))!);
  }, 30_000);
  afterAll(() => {
    agent?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the agent crashing on a malformed request: each gets an error reply, and the agent still answers afterwards", async () => {
    const replies = await exchange(
      socket,
      [
        JSON.stringify({ id: 1, op: "exec" }), // no route: crashed the agent before (request.route.host of undefined)
        JSON.stringify({ id: 2, op: "open", route: {} }),
        JSON.stringify({ id: 3, op: "open", route: { host: { name: "relay-1", role: "relay", address: "not-an-ip", port: 22 }, connectTimeoutMs: 5000, keepaliveIntervalMs: 5000, keepaliveCountMax: 3 } }),
        JSON.stringify({ id: 4, op: "rm -rf" }),
        "null",
        "[]",
        JSON.stringify({ id: 9, op: "status" }),
      ],
      7,
    );
    expect(replies.slice(0, 6).map((r) => r.ok)).toEqual([false, false, false, false, false, false]);
    expect(replies.map((r) => r.id)).toEqual([1, 2, 3, 4, -1, -1, 9]);
    expect((replies[0]!.error as { message: string }).message).toMatch(/^malformed request: route/);
    expect((replies[2]!.error as { message: string }).message).toMatch(/route\.host\.address/);
    expect(replies[6]).toMatchObject({ ok: true, status: { pid: agent.pid } });
    expect(agent.exitCode).toBeNull();
  });

  it("the agent honouring client-supplied pins: a route that carries pins is refused, not obeyed", async () => {
    const route = { host: { name: "relay-1", role: "relay", address: "10.40.0.10", port: 22 }, connectTimeoutMs: 5000, keepaliveIntervalMs: 5000, keepaliveCountMax: 3 };
    const [reply] = await exchange(socket, [JSON.stringify({ id: 5, op: "open", route: { ...route, pinned: { "relay-1": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU" } } })], 1);
    expect(reply).toMatchObject({ id: 5, ok: false, error: { message: expect.stringMatching(/malformed request: route: Unrecognized key: "pinned"/) } });
  });

  it("a line that is not JSON drops that client only; the agent answers the next one", async () => {
    const replies = await exchange(socket, ["x".repeat(2 << 20)], 1).catch(() => []);
    expect(replies).toEqual([]); // not JSON: the connection is dropped
    const [status] = await exchange(socket, [JSON.stringify({ id: 10, op: "status" })], 1);
    expect(status).toMatchObject({ id: 10, ok: true });
  });
});

describe("the client checks the agent socket's owner and mode before using it", () => {
  const dir = mkdtempSync(join(tmpdir(), "pool-ops-agent-client-"));
  const agentDir = join(dir, "agent");
  const path = join(agentDir, "0123456789abcdef.sock");
  let server: Server;
  beforeAll(async () => {
    mkdirSync(agentDir, { mode: 0o700 });
    chmodSync(agentDir, 0o700);
    server = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(path, () => resolve()));
    chmodSync(path, 0o600);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("uses a private socket of the user's own", async () => {
    const client = await AgentClient.connect(path);
    expect(client).toBeDefined();
    client?.close();
  });

  it("refuses a socket others may connect to, or one in a directory others may enter (before: used it)", async () => {
    chmodSync(path, 0o666);
    await expect(AgentClient.connect(path)).rejects.toMatchObject({ step: "use agent", message: expect.stringMatching(/refusing the agent socket .*: it is open to other users \(mode 666\)/) });
    chmodSync(path, 0o600);
    chmodSync(agentDir, 0o755);
    await expect(AgentClient.connect(path)).rejects.toMatchObject({ message: expect.stringMatching(/its directory is open to other users \(mode 755\)/) });
    chmodSync(agentDir, 0o700);
  });

  it.skipIf(process.getuid?.() !== 0)("refuses a socket another user owns (needs root to make one)", async () => {
    chownSync(path, 12345, 12345);
    try {
      await expect(AgentClient.connect(path)).rejects.toMatchObject({ message: expect.stringMatching(/it belongs to uid 12345, not to you \(uid 0\)/) });
    } finally {
      chownSync(path, 0, 0);
    }
  });
});
