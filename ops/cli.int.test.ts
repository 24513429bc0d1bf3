/**
 * pool-ops on the lab, run as an operator runs it (spawned processes): reaching every host through the bastion,
 * refusing a changed host key, reporting a dead relay without hiding the others, and the audit line.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { labHost, replaceHostKey, setLink } from "../lab/lab";
import { LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab } from "../lab/harness";

interface JsonGroup {
  ok: boolean;
  counts: Record<string, number>;
  results: Array<{ host: string; status: string; exitCode: number | null; stdout: string; durationMs: number; error?: { step: string; message: string; remedy: string } }>;
}

/** Tries a TCP connection; resolves with what happened, never hangs past `ms`. */
function tcpProbe(host: string, port: number, ms: number): Promise<"connected" | "refused" | "timeout" | string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("timeout");
    }, ms);
    socket.on("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve("connected");
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code === "ECONNREFUSED" ? "refused" : (e.code ?? e.message));
    });
  });
}

describe.skipIf(LAB_SKIP)(`pool-ops on the lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab();

  it("ping reaches all 7 hosts through the bastion, with times", async () => {
    const run = await runPoolOps(lab(), ["ping", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json<JsonGroup>();
    expect(result.results.map((r) => r.host)).toEqual(["bastion", "relay-1", "relay-2", "relay-3", "relay-4", "producer-1", "producer-2"]);
    expect(result.results.every((r) => r.status === "ok")).toBe(true);
    for (const r of result.results) expect((r as unknown as { detail: { connectMs: number } }).detail.connectMs).toBeGreaterThan(0);
  });

  it("human output: a line per host and a summary table; --json prints JSON only", async () => {
    const human = await runPoolOps(lab(), ["ping", "--role", "producer"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/✓ producer-1/);
    expect(human.stdout).toMatch(/HOST\s+STATUS\s+EXIT\s+TIME/);
    expect(human.stdout).toMatch(/2 hosts: 2 ok/);
    expect(human.stdout).not.toMatch(/\x1b\[/); // NO_COLOR
    const json = await runPoolOps(lab(), ["--json", "ping", "--role", "producer"]);
    expect(() => JSON.parse(json.stdout)).not.toThrow();
  });

  it("the private segment is isolated: a direct TCP connection to a producer's SSH port fails", async () => {
    const producer = labHost(lab(), "producer-1");
    const bastion = labHost(lab(), "bastion");
    // The bastion answers on its public address (the probe itself works)...
    expect(await tcpProbe(bastion.address, 22, 3000)).toBe("connected");
    // ...but the machine's route to the private segment goes via the bastion, which does not forward.
    expect(await tcpProbe(producer.privateIp, 22, 3000)).not.toBe("connected");
  });

  it("put --dry-run reports which hosts would change and changes nothing; then put writes, and a second dry run finds nothing to do", async () => {
    const local = join(lab().dir, "dry-run-payload.txt");
    writeFileSync(local, "payload\n");
    const args = ["--role", "relay", "put", local, "/opt/cardano/lab/dry-run.txt"];
    const dry = await runPoolOps(lab(), ["--dry-run", ...args]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: \/opt\/cardano\/lab\/dry-run\.txt would change on relay-1, relay-2, relay-3, relay-4/);
    const absent = await runPoolOps(lab(), ["--json", "--role", "relay", "run", "--", "test -e /opt/cardano/lab/dry-run.txt"]);
    expect(absent.json<JsonGroup>().results.map((r) => r.exitCode)).toEqual([1, 1, 1, 1]);
    expect((await runPoolOps(lab(), ["--yes", ...args])).code).toBe(0);
    const again = await runPoolOps(lab(), ["--dry-run", ...args]);
    expect(again.stdout).toMatch(/would change on no host/);
  });

  it("run executes on the selected role only, through sudo, and the audit log gets one line", async () => {
    const run = await runPoolOps(lab(), ["run", "--role", "relay", "--json", "--", "hostname; id -un"]);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json<JsonGroup>();
    expect(result.results.map((r) => [r.host, r.stdout])).toEqual([1, 2, 3, 4].map((n) => [`relay-${n}`, `relay-${n}\nroot\n`]));
    const audit = readFileSync(join(lab().dir, "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const last = audit.at(-1);
    expect(last).toMatchObject({ command: expect.stringContaining("run --role relay"), hosts: ["relay-1", "relay-2", "relay-3", "relay-4"], result: "ok", pool: "sandstone" });
    expect(typeof last.operator).toBe("string");
    expect(last.durationMs).toBeGreaterThan(0);
  });

  it("a non-zero exit fails that host, shows its output, and exits non-zero", async () => {
    const run = await runPoolOps(lab(), ["run", "-H", "relay-1,relay-2", "--", 'if [ "$(hostname)" = relay-2 ]; then echo broken >&2; exit 3; fi; echo fine']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/relay-2\s+failed\s+3/);
    expect(run.stdout).toMatch(/exited 3: broken/);
    expect(run.stdout).toMatch(/1 ok, 1 failed/);
  });

  it("a changed host key is refused with host, fingerprint and remedy, and nothing runs there", async () => {
    const marker = "/opt/cardano/lab/ran-on-changed-key";
    await replaceHostKey(lab(), "producer-2");
    const run = await runPoolOps(lab(), ["run", "-H", "producer-1,producer-2", "--", `touch ${marker}`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/HOST KEY CHANGED for producer-2 \(10\.248\.\d+\.21\): offered ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}/);
    expect(run.stdout).toMatch(/remedy: .*pool-ops hosts trust --hosts producer-2/);
    expect(run.stdout).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    const hostFile = (name: string) => join(labHost(lab(), name).dir, "opt-cardano", "lab", "ran-on-changed-key");
    expect(existsSync(hostFile("producer-1"))).toBe(true);
    expect(existsSync(hostFile("producer-2"))).toBe(false);
  });

  it("with a relay's link down, run reports the other three as succeeded and that one as failed within the timeout", async () => {
    setLink(lab(), "relay-3", false);
    try {
      const run = await runPoolOps(lab(), ["run", "--role", "relay", "--json", "--", "true"]);
      expect(run.code).toBe(1);
      const result = run.json<JsonGroup>();
      const byHost = Object.fromEntries(result.results.map((r) => [r.host, r]));
      for (const ok of ["relay-1", "relay-2", "relay-4"]) expect(byHost[ok]?.status).toBe("ok");
      expect(byHost["relay-3"]?.status).toBe("unreachable");
      expect(byHost["relay-3"]?.error?.message).toMatch(/could not reach 10\.248\.\d+\.12:22 within 5 s/);
      // The lab's pool config sets ssh.connectTimeoutSeconds: 5.
      expect(byHost["relay-3"]!.durationMs).toBeLessThan(5000 + 1500);
    } finally {
      setLink(lab(), "relay-3", true);
    }
  });

  it("a link that dies during a command gives outcome unknown (keepalive), not success", async () => {
    // Cut the link once the command is running on the host (a fixed delay races the connection on a busy machine).
    const marker = join(labHost(lab(), "relay-4").dir, "opt-cardano", "lab", "running");
    rmSync(marker, { force: true });
    const cut = setInterval(() => {
      if (existsSync(marker)) {
        clearInterval(cut);
        setLink(lab(), "relay-4", false);
      }
    }, 50);
    try {
      const run = await runPoolOps(lab(), ["run", "-H", "relay-4", "--json", "--", "mkdir -p /opt/cardano/lab && touch /opt/cardano/lab/running; sleep 8; echo finished"]);
      expect(run.code).toBe(1);
      const r = run.json<JsonGroup>().results[0]!;
      expect(r.status).toBe("unknown");
      expect(r.error?.message).toMatch(/lost during run .*outcome unknown/);
      expect(r.durationMs).toBeLessThan(8000); // keepalive 1 s × 3, not the command's 8 s
    } finally {
      clearInterval(cut);
      setLink(lab(), "relay-4", true);
    }
  });

  it("expected failures name the problem without a stack trace and exit 2", async () => {
    const missing = await runPoolOps(lab(), ["--inventory", "/nonexistent/inventory.json", "ping"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/\/nonexistent\/inventory\.json: cannot read the inventory: file not found/);
    const badHost = await runPoolOps(lab(), ["ping", "-H", "relay-9"]);
    expect(badHost.code).toBe(2);
    expect(badHost.stderr).toMatch(/no host relay-9 in the inventory/);
    expect(badHost.stderr).not.toMatch(/\n\s+at /);
  });
});
