/** The atomic-put and read scripts, run by the local /bin/sh exactly as a remote host runs them. */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { wrapCommand } from "./connection";
import { atomicPutScript, formatMode, MISSING_FILE_EXIT, readScript } from "./files";
import { shellQuote } from "./shell";

function sh(script: string, stdin: Buffer | string = "") {
  const r = spawnSync("sh", ["-c", script], { input: stdin });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("remote file scripts", () => {
  const dir = mkdtempSync(join(tmpdir(), "files-"));
  const target = join(dir, "node config.json"); // a space: quoting matters

  it("writes a new file with the given mode, then replaces it keeping the previous version as .bak", () => {
    const first = sh(atomicPutScript(target, Buffer.from("one\n"), { mode: 0o640 }), "one\n");
    expect(first).toMatchObject({ code: 0, stdout: "changed\n" });
    expect(readFileSync(target, "utf8")).toBe("one\n");
    expect(statSync(target).mode & 0o777).toBe(0o640);
    const second = sh(atomicPutScript(target, Buffer.from("two\n")), "two\n");
    expect(second.stdout).toBe("changed\n");
    expect(readFileSync(target, "utf8")).toBe("two\n");
    expect(statSync(target).mode & 0o777).toBe(0o640); // kept from the file it replaced
    expect(readFileSync(`${target}.bak`, "utf8")).toBe("one\n");
    expect(readdirSync(dir).filter((f) => f.includes("pool-ops"))).toEqual([]); // no temp files left
  });

  it("reports unchanged (and keeps the .bak) when content, owner and mode already match", () => {
    const again = sh(atomicPutScript(target, Buffer.from("two\n")), "two\n");
    expect(again.stdout).toBe("unchanged\n");
    expect(readFileSync(`${target}.bak`, "utf8")).toBe("one\n");
    expect(sh(atomicPutScript(target, Buffer.from("two\n"), { mode: "0600" }), "two\n").stdout).toBe("changed\n");
  });

  it("discards content that arrived incomplete: the target stays as it was, no temp file left", () => {
    const result = sh(atomicPutScript(target, Buffer.from("three, the full text\n")), "three, the");
    expect(result.code).toBe(65);
    expect(result.stderr).toMatch(/incomplete/);
    expect(readFileSync(target, "utf8")).toBe("two\n");
    expect(readdirSync(dir).filter((f) => f.includes("pool-ops"))).toEqual([]);
  });

  it("carries binary content byte for byte", () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const path = join(dir, "bin");
    expect(sh(atomicPutScript(path, bytes), bytes).code).toBe(0);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it("read prints a file or exits 66 when it is missing", () => {
    expect(sh(readScript(target))).toMatchObject({ code: 0, stdout: "two\n" });
    expect(sh(readScript(join(dir, "absent"))).code).toBe(MISSING_FILE_EXIT);
  });

  it("wraps commands in sudo -n and a server-side timeout, quoting safely", () => {
    expect(wrapCommand("echo 'hi' && true", { sudo: true, timeoutSeconds: 30 })).toBe(`sudo -n timeout -k 5 30 sh -c 'echo '\\''hi'\\'' && true'`);
    expect(wrapCommand("uptime", { sudo: false, timeoutSeconds: 5 })).toBe("timeout -k 5 5 sh -c uptime");
    const tricky = `it's "quoted" $HOME \`x\``;
    expect(execFileSync("sh", ["-c", `printf %s ${shellQuote(tricky)}`], { encoding: "utf8" })).toBe(tricky);
    const timedOut = sh(wrapCommand("sleep 5", { sudo: false, timeoutSeconds: 1 }));
    expect(timedOut.code).toBe(124);
    expect(formatMode(0o640)).toBe("0640");
    expect(() => formatMode("rw-r--r--")).toThrow(/expected octal/);
    expect(existsSync(dir)).toBe(true);
  });
});
