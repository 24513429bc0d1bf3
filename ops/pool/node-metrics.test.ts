import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { metricsScript, metricValue, parseMetrics } from "./node-metrics";

describe("node metrics", () => {
  test("parses the text format and accepts both spellings", () => {
    const m = parseMetrics("# TYPE x gauge\ncardano_node_metrics_forging_enabled_int 1\ncardano_node_metrics_Forge_adopted_counter 3\ncardano_node_metrics_remainingKESPeriods 61\nnode_filesystem_avail_bytes{mountpoint=\"/\"} 1.5e9\n");
    expect(metricValue(m, "forging_enabled")).toBe(1);
    expect(metricValue(m, "Forge_adopted")).toBe(3);
    expect(metricValue(m, "remainingKESPeriods")).toBe(61);
    expect(metricValue(m, "node_filesystem_avail_bytes")).toBe(1.5e9);
    expect(metricValue(m, "slotNum")).toBeUndefined();
  });
});

/**
 * The metrics script as a host without curl runs it (bash's /dev/tcp fallback), with a PATH holding only the tools it
 * uses, against a local stand-in for the node's metrics port.
 */
describe("the metrics reader's fallback (no curl on the host)", () => {
  const dir = mkdtempSync(join(tmpdir(), "node-metrics-"));
  const bin = join(dir, "bin");
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    mkdirSync(bin);
    // touch too: what an injected command would run (the old script ran it).
    for (const tool of ["bash", "tr", "sed", "cut", "touch"]) {
      const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
      symlinkSync(found, join(bin, tool));
    }
    server = createServer((socket) => {
      socket.once("data", () => socket.end("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ncardano_node_metrics_slotNum_int 42\n"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  /** Runs the script asynchronously: the metrics stand-in answers from this process. */
  const run = (config: object) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const file = join(dir, `config-${Math.random().toString(16).slice(2)}.json`);
      writeFileSync(file, JSON.stringify(config, null, 2));
      const child = spawn("/bin/sh", ["-c", metricsScript(file, 12798)], { env: { PATH: bin, HOME: dir }, stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });

  test("reads the metrics through /dev/tcp from the address the node config names", async () => {
    const r = await run({ hasPrometheus: ["127.0.0.1", port] });
    expect(r.status, r.stderr).toBe(0);
    expect(metricValue(parseMetrics(r.stdout), "slotNum")).toBe(42);
  });

  test("the command injection in the metrics reader's fallback: a host in the node-owned config.json never runs as a command", async () => {
    const marker = join(dir, "pwned");
    for (const host of [`x;touch\${IFS}${marker};`, `$(touch\${IFS}${marker})`, `\`touch\${IFS}${marker}\``, `127.0.0.1/${port}\${IFS}&&touch\${IFS}${marker}&&:`]) {
      const r = await run({ hasPrometheus: [host, port] });
      expect(existsSync(marker), host).toBe(false);
      expect(r.status, host).toBe(65);
      expect(r.stderr).toMatch(/metrics address in .* is not a host name or address/);
    }
  });
});
