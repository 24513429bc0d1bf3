/**
 * `pool-ops agent` on the lab: commands reuse the agent's connections (the same SSH session answers twice), a put
 * through it lands and is audited, a key taken out of known_hosts is refused at once, dropped sessions are made again,
 * and the agent's socket is private, stops on request, on idle, and a dead agent's socket does not break the next
 * command.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab } from "../../lab/harness";
import { machineInitPid, namespacePids, processAlive } from "../../lab/lab";
import { instanceRecord } from "../../lab/lab-hosts";
import type { LabState } from "../../lab/lab";

interface JsonGroup {
  ok: boolean;
  results: Array<{ host: string; status: string; stdout: string; error?: { step: string; message: string } }>;
}
interface JsonStatus {
  running: boolean;
  pid: number;
  socket: string;
  connections: Array<{ host: string; open: boolean; via?: string }>;
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The per-connection sshd processes serving sessions on a lab machine (not its listener, whose parent is init). */
function sshSessionPids(lab: LabState, host: string): number[] {
  const init = machineInitPid(lab, host);
  return namespacePids(instanceRecord(lab, host).namespace).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sshd" && ppid !== init;
    } catch {
      return false; // exited meanwhile
    }
  });
}

describe.skipIf(LAB_SKIP)(`pool-ops agent on the lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab();
  const stateDir = mkdtempSync(join(tmpdir(), "pool-ops-agent-"));
  const env = { POOL_OPS_STATE_DIR: stateDir };
  const ops = (args: string[], more: Record<string, string> = {}) => runPoolOps(lab(), args, { env: { ...env, ...more } });
  afterAll(async () => {
    if (!LAB_SKIP) await ops(["agent", "stop"]);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("start connects to every host through the bastion; the socket is the user's alone", async () => {
    const start = await ops(["agent", "start", "--json"]);
    expect(start.code, start.stderr).toBe(0);
    expect(start.json<JsonGroup>().results.map((r) => r.status)).toEqual(Array(7).fill("ok"));
    const status = await ops(["agent", "status", "--json"]);
    expect(status.code).toBe(0);
    const s = status.json<JsonStatus>();
    expect(s.running).toBe(true);
    expect(s.connections.filter((c) => c.open)).toHaveLength(7);
    expect(s.connections.find((c) => c.host === "relay-1")?.via).toBe("bastion");
    expect(statSync(s.socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(stateDir, "agent")).mode & 0o777).toBe(0o700);
    // A second start finds it rather than starting another.
    const again = await ops(["agent", "start", "--no-connect"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`already runs .*pid ${s.pid}`));
  });

  it("commands ride the agent's SSH sessions (the same one answers twice); --no-agent opens its own", async () => {
    // The SSH sessions each relay's sshd holds, by peer address:port (the bastion's end of each forwarded session).
    const sessions = async (extra: string[] = []) => {
      const r = await ops([...extra, "--json", "run", "--role", "relay", "--", "ss -Htn state established '( sport = :22 )' | awk '{print $4}' | sort"]);
      expect(r.code, r.stderr).toBe(0);
      return Object.fromEntries(r.json<JsonGroup>().results.map((x) => [x.host, x.stdout.trim().split("\n")]));
    };
    const first = await sessions();
    const second = await sessions();
    expect(second).toEqual(first);
    for (const peers of Object.values(first)) expect(peers).toHaveLength(1); // the agent's session, nothing else
    const direct = await sessions(["--no-agent"]);
    for (const [host, peers] of Object.entries(first)) {
      expect(direct[host]).toHaveLength(2); // the agent's, and the direct command's own
      expect(direct[host]).toContain(peers[0]);
    }
  });

  it("a put through the agent lands atomically on every node and is audited", async () => {
    const file = join(stateDir, "payload.bin");
    const content = randomBytes(32 * 1024);
    writeFileSync(file, content);
    const put = await ops(["--yes", "--json", "--role", "relay,producer", "put", "--mode", "0640", file, "/var/tmp/agent-put.bin"]);
    expect(put.code, put.stderr).toBe(0);
    expect(put.json<JsonGroup>().results.map((r) => r.status)).toEqual(Array(6).fill("changed"));
    const check = await ops(["--json", "--role", "relay,producer", "run", "--", "sha256sum /var/tmp/agent-put.bin | cut -d ' ' -f 1; stat -c %a /var/tmp/agent-put.bin"]);
    const sha = createHash("sha256").update(content).digest("hex");
    for (const r of check.json<JsonGroup>().results) expect(r.stdout.trim().split("\n")).toEqual([sha, "640"]);
    const audit = readFileSync(join(lab().dir, "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { command: string });
    expect(audit.some((line) => /^--yes --json --role relay,producer put .*agent-put\.bin/.test(line.command))).toBe(true);
  });

  it("a key taken out of known_hosts is refused at once, though the agent had a session to that host", async () => {
    const knownHosts = lab().files.knownHosts;
    const original = readFileSync(knownHosts, "utf8");
    // Every key relay-1 offers (cloud-init made one of each type), taken out.
    const relay1 = original.split("\n").filter((l) => l.startsWith("10.") && / relay-1$/.test(l));
    expect(relay1.length, "the lab's known_hosts names relay-1").toBeGreaterThan(0);
    try {
      writeFileSync(knownHosts, original.split("\n").filter((l) => !relay1.includes(l)).join("\n"));
      const r = await ops(["--json", "run", "--role", "relay", "--", "true"]);
      expect(r.code).toBe(1);
      const byHost = Object.fromEntries(r.json<JsonGroup>().results.map((x) => [x.host, x]));
      expect(byHost["relay-1"]?.status).toBe("unreachable");
      expect(byHost["relay-1"]?.error?.message).toMatch(/unknown host key for relay-1/);
      expect(["relay-2", "relay-3", "relay-4"].map((h) => byHost[h]?.status)).toEqual(["ok", "ok", "ok"]);
    } finally {
      writeFileSync(knownHosts, original);
    }
    const back = await ops(["run", "--role", "relay", "--", "true"]);
    expect(back.code, back.stdout).toBe(0);
  });

  it("sessions that dropped (a host's, then the bastion's) are made again by the next command", async () => {
    const openSessions = async () => {
      const s = (await ops(["agent", "status", "--json"])).json<JsonStatus>();
      return Object.fromEntries(s.connections.map((c) => [c.host, c.open]));
    };
    expect(await openSessions()).toMatchObject({ bastion: true, "relay-2": true });
    for (const hostName of ["relay-2", "bastion"]) {
      const sessions = sshSessionPids(lab(), hostName);
      expect(sessions.length, `${hostName} serves the agent's session`).toBeGreaterThan(0);
      for (const pid of sessions) {
        try {
          process.kill(pid, "SIGTERM");
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error; // that session process had just ended
        }
      }
      await until(`${hostName}'s sessions to end`, () => sshSessionPids(lab(), hostName).length === 0);
      const run = await ops(["--json", "run", "--role", "relay", "--", "true"]);
      expect(run.code, run.stdout).toBe(0);
      expect(await openSessions()).toMatchObject({ bastion: true, "relay-1": true, "relay-2": true });
    }
  });

  it("stop ends the agent; a command then connects directly", async () => {
    const { pid, socket } = (await ops(["agent", "status", "--json"])).json<JsonStatus>();
    const stop = await ops(["agent", "stop"]);
    expect(stop.code).toBe(0);
    expect(existsSync(socket)).toBe(false);
    await until("the agent process to exit", () => !processAlive(pid));
    const status = await ops(["agent", "status"]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/no agent runs/);
    const ping = await ops(["ping"]);
    expect(ping.code, ping.stderr).toBe(0);
  });

  it("a killed agent's socket is cleared by the next command, which still succeeds", async () => {
    expect((await ops(["agent", "start", "--no-connect"])).code).toBe(0);
    const { pid, socket } = (await ops(["agent", "status", "--json"])).json<JsonStatus>();
    process.kill(pid, "SIGKILL");
    await until("the agent process to die", () => !processAlive(pid));
    expect(existsSync(socket)).toBe(true);
    const run = await ops(["run", "--role", "producer", "--", "true"]);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(socket)).toBe(false);
  });

  it("exits on its own after the idle period", async () => {
    expect((await ops(["agent", "start", "--idle-minutes", "0.03"])).code).toBe(0);
    const { pid, socket } = (await ops(["agent", "status", "--json"])).json<JsonStatus>();
    await until("the idle agent to exit", () => !processAlive(pid) && !existsSync(socket));
  });

  it("refuses to put its socket in a directory other users can enter", async () => {
    chmodSync(join(stateDir, "agent"), 0o755);
    try {
      const start = await ops(["agent", "start"]);
      expect(start.code).not.toBe(0);
      expect(start.stderr).toMatch(/open to other users \(mode 755\): run `chmod 700 /);
      expect((await ops(["agent", "status"])).code).toBe(1);
    } finally {
      chmodSync(join(stateDir, "agent"), 0o700);
    }
  });
});
