/**
 * pool-ops on the lab, run as an operator runs it (spawned processes): reaching every host through the bastion,
 * refusing a changed host key, reporting a dead relay without hiding the others, and the audit line.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { labHost } from "../lab/lab";
import { hostPath, replaceHostKey, setLink } from "../lab/lab-hosts";
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

  it("only the bastion is reachable from outside: a direct TCP connection to a relay's or producer's SSH port fails", async () => {
    const bastion = labHost(lab(), "bastion");
    // The bastion answers (the probe itself works)...
    expect(await tcpProbe(bastion.address, 22, 3000)).toBe("connected");
    // ...but every other address of the VPC is unreachable from the operator's machine.
    for (const name of ["producer-1", "relay-1"]) expect(await tcpProbe(labHost(lab(), name).privateIp, 22, 3000), name).not.toBe("connected");
  });

  it("put --dry-run reports which hosts would change and changes nothing; then put writes, and a second dry run finds nothing to do", async () => {
    const local = join(lab().dir, "dry-run-payload.txt");
    writeFileSync(local, "payload\n");
    const args = ["--role", "relay", "put", local, "/var/tmp/dry-run.txt"];
    const dry = await runPoolOps(lab(), ["--dry-run", ...args]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: \/var\/tmp\/dry-run\.txt would change on relay-1, relay-2, relay-3, relay-4/);
    const absent = await runPoolOps(lab(), ["--json", "--role", "relay", "run", "--", "test -e /var/tmp/dry-run.txt"]);
    expect(absent.json<JsonGroup>().results.map((r) => r.exitCode)).toEqual([1, 1, 1, 1]);
    expect((await runPoolOps(lab(), ["--yes", ...args])).code).toBe(0);
    const again = await runPoolOps(lab(), ["--dry-run", ...args]);
    expect(again.stdout).toMatch(/would change on no host/);
  });

  it("run executes on the selected role only, through sudo, and the audit log gets one line", async () => {
    const run = await runPoolOps(lab(), ["run", "--role", "relay", "--json", "--", "hostname; id -un"]);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json<JsonGroup>();
    // EC2 names an instance after its private address (cloud-init sets it from the metadata).
    const ec2Name = (n: number) => `ip-${labHost(lab(), `relay-${n}`).privateIp.replace(/\./g, "-")}`;
    expect(result.results.map((r) => [r.host, r.stdout])).toEqual([1, 2, 3, 4].map((n) => [`relay-${n}`, `${ec2Name(n)}\nroot\n`]));
    const audit = readFileSync(join(lab().dir, "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const last = audit.at(-1);
    expect(last).toMatchObject({ command: expect.stringContaining("run --role relay"), hosts: ["relay-1", "relay-2", "relay-3", "relay-4"], result: "ok", pool: "sandstone" });
    expect(typeof last.operator).toBe("string");
    expect(last.durationMs).toBeGreaterThan(0);
  });

  it("a non-zero exit fails that host, shows its output, and exits non-zero", async () => {
    const relay2 = labHost(lab(), "relay-2").privateIp;
    const run = await runPoolOps(lab(), ["run", "-H", "relay-1,relay-2", "--", `if ip -4 -o addr show | grep -q ' ${relay2}/'; then echo broken >&2; exit 3; fi; echo fine`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/relay-2\s+failed\s+3/);
    expect(run.stdout).toMatch(/exited 3: broken/);
    expect(run.stdout).toMatch(/1 ok, 1 failed/);
  });

  it("a changed host key is refused with host, fingerprint and remedy, and nothing runs there", async () => {
    const marker = "/tmp/ran-on-changed-key";
    replaceHostKey(lab(), "producer-2");
    const run = await runPoolOps(lab(), ["run", "-H", "producer-1,producer-2", "--", `touch ${marker}`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`HOST KEY CHANGED for producer-2 (${labHost(lab(), "producer-2").privateIp}): offered`);
    expect(run.stdout).toMatch(/HOST KEY CHANGED for producer-2 \([\d.]+\): offered (ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa|rsa-sha2-\d+) SHA256:[A-Za-z0-9+/]{43}/);
    expect(run.stdout).toMatch(/remedy: .*pool-ops hosts trust --hosts producer-2/);
    expect(run.stdout).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(existsSync(hostPath(lab(), "producer-1", marker))).toBe(true);
    expect(existsSync(hostPath(lab(), "producer-2", marker))).toBe(false);
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
      expect(byHost["relay-3"]?.error?.message).toContain(`could not reach ${labHost(lab(), "relay-3").privateIp}:22 within 5 s`);
      // The lab's pool config sets ssh.connectTimeoutSeconds: 5.
      expect(byHost["relay-3"]!.durationMs).toBeLessThan(5000 + 1500);
    } finally {
      setLink(lab(), "relay-3", true);
    }
  });

  it("a link that dies during a command gives outcome unknown (keepalive), not success", async () => {
    // Cut the link once the command is running on the host (a fixed delay races the connection on a busy machine).
    const marker = hostPath(lab(), "relay-4", "/tmp/running");
    rmSync(marker, { force: true });
    const cut = setInterval(() => {
      if (existsSync(marker)) {
        clearInterval(cut);
        setLink(lab(), "relay-4", false);
      }
    }, 50);
    try {
      const run = await runPoolOps(lab(), ["run", "-H", "relay-4", "--json", "--", "touch /tmp/running; sleep 8; echo finished"]);
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
