/**
 * `pool-ops lock status` and `lock break` as an operator types them, against the pool's lease table on the moto
 * emulator (`--aws-endpoint`), and a changing command (`rotate-kes`) meeting another operator's lease: refused at once
 * or after `--wait`, and releasing its own on the way out. No lab: the commands never reach a host.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../../lab/aws-emulator";
import { POOL_OPS_BIN, runPoolOps } from "../../lab/harness";
import { REPO_DIR } from "../../lab/lab";
import { createLeaseTable } from "../../test/lease-table";
import { requireTool, writePoolConfig } from "../../test/support";
import { LeaseTable } from "../lease/lease-table";
import { LeaseTableJournal } from "../lease/pool-journal";
import { takeLease } from "../lease/take";

const available = requireTool(emulatorAvailable(), "moto (the AWS emulator) is not installed for python3, so pool-ops lock cannot be run against it");

/** The default pool (sandstone, preprod, eu-west-1) as its inventory describes it; hosts never reached. */
function writeInventory(dir: string): string {
  const host = (name: string, role: string, ip: string, n: number) => ({ name, role, privateIp: ip, instanceId: `i-0123456789abcdef${n}` });
  const file = join(dir, "inventory.json");
  writeFileSync(
    file,
    JSON.stringify({
      pool: "sandstone",
      network: "preprod",
      region: "eu-west-1",
      bastion: { ...host("bastion", "bastion", "10.40.16.10", 0), publicIp: "192.0.2.10" },
      hosts: [host("relay-1", "relay", "10.40.0.10", 1), host("producer-1", "producer", "10.40.8.10", 2), host("producer-2", "producer", "10.40.9.10", 3)],
    }),
  );
  return file;
}

describe.skipIf(!available)("pool-ops lock status / lock break on the emulator", () => {
  let emulator: AwsEmulator;
  let dir: string;
  let env: Record<string, string>;
  let table: LeaseTable;
  const auditLog = () => join(dir, "audit.log");
  const poolOps = (args: string[]) => runPoolOps(undefined, ["--aws-endpoint", emulator.endpoint, ...args], { env });

  beforeAll(async () => {
    emulator = await startAwsEmulator();
    dir = mkdtempSync(join(tmpdir(), "pool-ops-lock-"));
    env = { POOL_CONFIG: writePoolConfig(dir, {}), POOL_OPS_INVENTORY: writeInventory(dir), POOL_OPS_AUDIT_LOG: auditLog(), POOL_OPS_STATE_DIR: join(dir, "state") };
    await createLeaseTable(emulator.endpoint, "eu-west-1", "sandstone");
    table = new LeaseTable({ region: "eu-west-1", endpoint: emulator.endpoint }, "sandstone");
  }, 60_000);

  afterAll(async () => {
    table?.close();
    await emulator?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lock status: free, in words and as JSON", async () => {
    const human = await poolOps(["lock", "status"]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toBe("the pool's lease (sandstone-pool-ops-lease): free\nno unfinished change\n");
    const json = await poolOps(["lock", "status", "--json"]);
    expect(json.json()).toEqual({ pool: "sandstone", table: "sandstone-pool-ops-lease", state: "free", unfinished: null });
  });

  it("another operator's lease: status names them; rotate-kes is refused at once, or after --wait, with exit 4", async () => {
    await takeLease(table, { command: "rotate-kes", holder: { user: "bob", host: "desk", pid: 777 } });
    const human = await poolOps(["lock", "status"]);
    expect(human.stdout).toMatch(/^the pool's lease \(sandstone-pool-ops-lease\): held by bob@desk pid 777 running rotate-kes since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, expires in 1[12]\d s unless renewed\nno unfinished change\n$/);
    const json = (await poolOps(["lock", "status", "--json"])).json<Record<string, unknown>>();
    expect(json).toMatchObject({ state: "held", holder: { user: "bob", host: "desk", pid: 777 }, command: "rotate-kes", expiresInSeconds: expect.any(Number) });
    expect(json).not.toHaveProperty("token");

    const refused = await poolOps(["rotate-kes", "--yes"]);
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toMatch(/take the pool's lease: the pool's lease \(DynamoDB sandstone-pool-ops-lease\) is held by bob@desk pid 777 running rotate-kes since .*; nothing was changed\n  remedy: wait for it to finish \(--wait SECONDS/);
    const waited = await poolOps(["rotate-kes", "--yes", "--wait", "1"]);
    expect(waited.code, waited.stderr).toBe(4);
    expect(waited.stderr).toMatch(/pool-ops: the pool's lease is held by bob@desk pid 777 .*; waiting up to 1 s for it\n/);
    expect(waited.stderr).toMatch(/is still held by bob@desk pid 777 .* after waiting 1 s/);
  });

  it("lock break asks first: without a terminal or --yes it refuses (exit 3); --dry-run changes nothing", async () => {
    const refused = await poolOps(["lock", "break"]);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(/break it\? Only if that command is dead.* refusing without confirmation: no terminal to ask on; add --yes/);
    const dry = await poolOps(["lock", "break", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: would break the pool's lease, held by bob@desk pid 777 running rotate-kes/);
    expect((await table.read())?.holder.user).toBe("bob");
  });

  it("lock break --yes removes it and writes an audit line naming what it broke", async () => {
    const broke = await poolOps(["lock", "break", "--yes"]);
    expect(broke.code, broke.stderr).toBe(0);
    expect(broke.stdout).toMatch(/held by bob@desk pid 777 running rotate-kes.*\nbroken: the pool's lease is free\n$/);
    expect(await table.read()).toBeUndefined();
    const lines = readFileSync(auditLog(), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ command: "--aws-endpoint " + emulator.endpoint + " lock break --yes", pool: "sandstone", result: "ok", details: { lease: "broken", state: "held", holder: { user: "bob", host: "desk", pid: 777 }, command: "rotate-kes" } });
    expect(JSON.stringify(lines.at(-1))).not.toMatch(/token/);
    const again = await poolOps(["lock", "break", "--yes"]);
    expect(again.stdout).toBe("the pool's lease (sandstone-pool-ops-lease) is free: nothing to break\n");
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} before the command's first step: the lease is released, then the process ends by the signal as before`, async () => {
      // A "bastion" that accepts and never answers holds push-config in its first SSH handshake, lease held.
      let connections = 0;
      const sockets: Socket[] = [];
      const silent = createServer((socket) => {
        connections++;
        sockets.push(socket);
        socket.on("error", () => undefined);
      });
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
      const port = (silent.address() as AddressInfo).port;
      const caseDir = mkdtempSync(join(dir, "signal-"));
      const key = join(caseDir, "id_ed25519");
      spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
      const inventory = JSON.parse(readFileSync(env.POOL_OPS_INVENTORY!, "utf8")) as { bastion: { publicIp: string } };
      inventory.bastion.publicIp = "127.0.0.1";
      writeFileSync(join(caseDir, "inventory.json"), JSON.stringify(inventory));
      const child = spawn(process.execPath, [POOL_OPS_BIN, "--aws-endpoint", emulator.endpoint, "push-config", "--yes", "--leader", "producer-1"], {
        cwd: REPO_DIR,
        env: {
          ...process.env,
          ...env,
          POOL_CONFIG: writePoolConfig(caseDir, { ssh: { port } }),
          POOL_OPS_INVENTORY: join(caseDir, "inventory.json"),
          POOL_OPS_IDENTITY: key,
          POOL_OPS_KNOWN_HOSTS: join(caseDir, "known_hosts"),
          SSH_AUTH_SOCK: "",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, sig) => resolve({ code, signal: sig })));
      try {
        const deadline = Date.now() + 30_000;
        while (connections === 0 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(connections, stderr).toBeGreaterThan(0);
        expect((await table.read())?.command).toBe("push-config");
        child.kill(signal);
        const outcome = await exited;
        expect(outcome, stderr).toEqual({ code: null, signal });
        expect(stderr).toContain(`pool-ops: ${signal}: releasing the pool's lease`);
        expect(await table.read()).toBeUndefined();
      } finally {
        child.kill("SIGKILL");
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    }, 60_000);
  }

  it("an unfinished change beside the lease: lock status names it; a changing command that cannot finish it refuses before changing anything", async () => {
    const journal = new LeaseTableJournal(table);
    await journal.write({ command: "rotate-kes-v9", step: "push-producer-2", startedAt: "2026-12-02T03:00:00.000Z", holder: { user: "carol", host: "ops-box", pid: 4711 }, facts: { pushed: ["producer-1"] } });
    try {
      const status = await poolOps(["lock", "status"]);
      expect(status.stdout).toMatch(/\nunfinished change: rotate-kes-v9 by carol@ops-box pid 4711, started 2026-12-02T03:00:00\.000Z, stopped at step push-producer-2 — the next changing command finishes it\n$/);
      expect((await poolOps(["lock", "status", "--json"])).json()).toMatchObject({ unfinished: { command: "rotate-kes-v9", step: "push-producer-2" } });
      // promote takes the lease, sees the entry, knows no way to finish it: refuses, and the entry stays.
      const refused = await poolOps(["promote", "--yes"]);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/an unfinished change is recorded beside the lease: rotate-kes-v9 by carol@ops-box pid 4711/);
      expect(refused.stderr).toMatch(/no pool-ops command here knows how to finish an interrupted rotate-kes-v9\n  remedy: run pool-ops rotate-kes-v9 to finish it/);
      expect((await journal.read())?.command).toBe("rotate-kes-v9");
      expect(await table.read()).toBeUndefined();
    } finally {
      await journal.clear();
    }
    expect(await journal.read()).toBeUndefined();
  });

  it("a changing command that fails still releases the lease it took", async () => {
    // Free lease: rotate-kes takes it, then stops at its preflight (the inventory names no leader parameter).
    const failed = await poolOps(["rotate-kes", "--yes"]);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(/preflight: the inventory names no leader parameter/);
    expect(failed.stderr).not.toMatch(/lease/);
    expect(await table.read()).toBeUndefined();
  });
});
