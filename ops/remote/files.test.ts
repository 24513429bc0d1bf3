/**
 * The remote file operations, run by the local /bin/sh (and python3) exactly as a remote host runs them: put, read,
 * backup, restore and ensure-dir, and their refusals when a link sits where a file or directory should be.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { wrapCommand } from "./connection";
import { atomicPutScript, backupFilesScript, ensureDirectoryScript, formatMode, MISSING_FILE_EXIT, moveFilesScript, readScript, REFUSED_EXIT, restoreFilesScript } from "./files";
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

describe("no link is ever followed", () => {
  const dir = mkdtempSync(join(tmpdir(), "files-links-"));
  const victim = join(dir, "victim"); // a root-owned file elsewhere, as /etc/sudoers would be
  writeFileSync(victim, "root's own\n", { mode: 0o640 });
  const untouched = () => {
    expect(readFileSync(victim, "utf8")).toBe("root's own\n");
    expect(statSync(victim).mode & 0o777).toBe(0o640);
  };
  /** A link as the node user plants it: owned by them (root's own links in root's directories are followed). */
  const plant = (to: string, at: string) => {
    symlinkSync(to, at);
    lchownSync(at, 12345, 12345);
  };
  const work = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    return d;
  };

  it("a symbolic link at the target is refused, not written through", () => {
    const d = work("target-link");
    plant(victim, join(d, "topology.json"));
    const r = sh(atomicPutScript(join(d, "topology.json"), Buffer.from("evil\n"), { owner: "nobody", mode: 0o666 }), "evil\n");
    expect(r.code).toBe(REFUSED_EXIT);
    expect(r.stderr).toMatch(/REFUSED: .*topology\.json is a symbolic link: refusing .*nothing was changed/);
    untouched();
    expect(lstatSync(join(d, "topology.json")).isSymbolicLink()).toBe(true);
  });

  it("a symbolic link at the .bak is refused before anything changes", () => {
    const d = work("bak-link");
    writeFileSync(join(d, "topology.json"), "old\n");
    plant(victim, join(d, "topology.json.bak"));
    const r = sh(atomicPutScript(join(d, "topology.json"), Buffer.from("new\n")), "new\n");
    expect(r.code).toBe(REFUSED_EXIT);
    expect(r.stderr).toMatch(/topology\.json\.bak is a symbolic link/);
    expect(readFileSync(join(d, "topology.json"), "utf8")).toBe("old\n");
    untouched();
  });

  it("a directory on the path that is a symbolic link is refused", () => {
    const d = work("dir-link");
    const elsewhere = work("elsewhere");
    plant(elsewhere, join(d, "config"));
    const r = sh(atomicPutScript(join(d, "config", "victim"), Buffer.from("x\n")), "x\n");
    expect(r.code).toBe(REFUSED_EXIT);
    expect(r.stderr).toMatch(/\/config is a symbolic link or not a directory: refusing to follow it/);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(sh(readScript(join(d, "config", "x"))).code).toBe(REFUSED_EXIT);
  });

  it("a read refuses a link at the file itself; a parent writable by others is refused for writes", () => {
    const d = work("read-link");
    plant(victim, join(d, "vrf.skey"));
    const r = sh(readScript(join(d, "vrf.skey")));
    expect(r.code).toBe(REFUSED_EXIT);
    expect(r.stdout).toBe("");
    const open = work("open");
    chmodSync(open, 0o777);
    expect(sh(atomicPutScript(join(open, "f"), Buffer.from("x")), "x")).toMatchObject({ code: REFUSED_EXIT, stderr: expect.stringMatching(/writable by group or others \(mode 777\)/) });
  });

  it("root-owned parents, when asked for, are checked all the way from /", () => {
    const d = work("owned");
    const r = sh(atomicPutScript(join(d, "f"), Buffer.from("x"), { parents: "root-owned" }), "x");
    expect(r.code, r.stderr).toBe(0); // as root, under /tmp (root's, sticky)
  });

  it("backups go to a root-only directory and come back through a rename; a file that was absent is removed, a link there unlinked, not followed", () => {
    const d = work("backup");
    writeFileSync(join(d, "config.json"), "v1\n", { mode: 0o640 });
    const backups = join(d, "backup", "run-1");
    const b = sh(backupFilesScript(backups, [{ path: join(d, "config.json"), as: "0" }, { path: join(d, "topology.json"), as: "1" }]));
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual({ absent: [join(d, "topology.json")] });
    expect(statSync(backups).mode & 0o777).toBe(0o700);
    writeFileSync(join(d, "config.json"), "v2\n");
    plant(victim, join(d, "topology.json")); // "created" by the failed change: a link
    const r = sh(restoreFilesScript(backups, [{ path: join(d, "config.json"), from: "0" }, { path: join(d, "topology.json"), from: "1", absent: true }]));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(d, "config.json"), "utf8")).toBe("v1\n");
    expect(statSync(join(d, "config.json")).mode & 0o777).toBe(0o640);
    expect(existsSync(join(d, "topology.json"))).toBe(false);
    untouched();
    // A restore onto a link is refused; a backup directory planted as a link is refused.
    plant(victim, join(d, "node.cert"));
    expect(sh(restoreFilesScript(backups, [{ path: join(d, "node.cert"), from: "0" }])).code).toBe(REFUSED_EXIT);
    plant(work("planted"), join(d, "backup", "run-2"));
    expect(sh(backupFilesScript(join(d, "backup", "run-2"), [{ path: join(d, "config.json"), as: "0" }])).code).toBe(REFUSED_EXIT);
    untouched();
  });

  it("push-config widening existing directories to 0755: ensure-dir makes missing directories and leaves existing ones as they are", () => {
    const keys = work("keys");
    chmodSync(keys, 0o700);
    // What push-config ran before (`install -d -m 0755 DIR`): an existing 0700 directory became 0755.
    const widened = work("widened");
    chmodSync(widened, 0o700);
    execFileSync("install", ["-d", "-m", "0755", widened]);
    expect(statSync(widened).mode & 0o777).toBe(0o755);
    expect(sh(ensureDirectoryScript(keys, { mode: 0o755 })).code).toBe(0);
    expect(statSync(keys).mode & 0o777).toBe(0o700);
    const fresh = join(keys, "standby", "deeper");
    expect(sh(ensureDirectoryScript(fresh, { mode: 0o750 })).code).toBe(0);
    expect(statSync(fresh).mode & 0o777).toBe(0o750);
    expect(statSync(join(keys, "standby")).mode & 0o777).toBe(0o750);
    plant(work("elsewhere-dir"), join(keys, "linked"));
    expect(sh(ensureDirectoryScript(join(keys, "linked", "x"))).code).toBe(REFUSED_EXIT);
  });

  it("move renames regular files, is fine when already moved, and refuses a link at the destination (mv would move into the directory it names)", () => {
    const keys = work("move-keys");
    mkdirSync(join(keys, "standby"));
    writeFileSync(join(keys, "kes.skey"), "kes\n", { mode: 0o600 });
    const move = moveFilesScript([{ from: join(keys, "kes.skey"), to: join(keys, "standby", "kes.skey") }]);
    expect(sh(move).code).toBe(0);
    expect(readFileSync(join(keys, "standby", "kes.skey"), "utf8")).toBe("kes\n");
    expect(sh(move).code).toBe(0); // already moved
    expect(sh(moveFilesScript([{ from: join(keys, "none"), to: join(keys, "standby", "none") }])).code).toBe(MISSING_FILE_EXIT);
    const elsewhere = work("move-elsewhere");
    plant(elsewhere, join(keys, "vrf.skey"));
    writeFileSync(join(keys, "standby", "vrf.skey"), "vrf\n");
    expect(sh(moveFilesScript([{ from: join(keys, "standby", "vrf.skey"), to: join(keys, "vrf.skey") }])).code).toBe(REFUSED_EXIT);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  /**
   * Every path a backup, restore or move touches, with a link the node user planted there pointing at root's file (or
   * a root-only directory) elsewhere: each operation refuses (or, for a file that was absent, removes the link), and
   * the victim stays as it was. A fresh tree per case: `svc/config.json` (v1), a backup of it in `backup/run`, a
   * producer's `keys/` with `standby/`.
   */
  describe("a link at each path a backup, restore or move touches", () => {
    const victimDir = work("victim-dir");
    writeFileSync(join(victimDir, "inside"), "root's own\n");
    const tree = (name: string) => {
      const d = work(`op-${name}`);
      mkdirSync(join(d, "svc"));
      writeFileSync(join(d, "svc", "config.json"), "v1\n", { mode: 0o640 });
      mkdirSync(join(d, "keys", "standby"), { recursive: true });
      writeFileSync(join(d, "keys", "kes.skey"), "kes\n", { mode: 0o640 });
      expect(sh(backupFilesScript(join(d, "backup", "run"), [{ path: join(d, "svc", "config.json"), as: "0" }])).code).toBe(0);
      return d;
    };
    const victimsUntouched = () => {
      untouched();
      expect(readdirSync(victimDir)).toEqual(["inside"]);
      expect(readFileSync(join(victimDir, "inside"), "utf8")).toBe("root's own\n");
    };
    /** Replaces `at` (a file or a directory of the tree) with a link to `to`, as the node user would. */
    const swap = (at: string, to: string) => {
      rmSync(at, { recursive: true, force: true });
      plant(to, at);
    };
    const cases: Array<{ what: string; plant: (d: string) => void; op: (d: string) => string; message: RegExp }> = [
      { what: "backup: the file backed up", plant: (d) => swap(join(d, "svc", "config.json"), victim), op: (d) => backupFilesScript(join(d, "backup", "run-2"), [{ path: join(d, "svc", "config.json"), as: "0" }]), message: /config\.json is a symbolic link: refusing/ },
      { what: "backup: a directory on the file's path", plant: (d) => swap(join(d, "svc"), victimDir), op: (d) => backupFilesScript(join(d, "backup", "run-2"), [{ path: join(d, "svc", "inside"), as: "0" }]), message: /svc is a symbolic link or not a directory/ },
      { what: "backup: the backup directory", plant: (d) => plant(victimDir, join(d, "backup", "run-2")), op: (d) => backupFilesScript(join(d, "backup", "run-2"), [{ path: join(d, "svc", "config.json"), as: "inside" }]), message: /run-2 is a symbolic link or not a directory/ },
      { what: "backup: a directory above the backup directory", plant: (d) => swap(join(d, "backup"), victimDir), op: (d) => backupFilesScript(join(d, "backup", "run-2"), [{ path: join(d, "svc", "config.json"), as: "0" }]), message: /backup is a symbolic link or not a directory/ },
      { what: "restore: the file restored", plant: (d) => swap(join(d, "svc", "config.json"), victim), op: (d) => restoreFilesScript(join(d, "backup", "run"), [{ path: join(d, "svc", "config.json"), from: "0" }]), message: /config\.json is a symbolic link: refusing to restore onto it/ },
      { what: "restore: the directory restored into", plant: (d) => swap(join(d, "svc"), victimDir), op: (d) => restoreFilesScript(join(d, "backup", "run"), [{ path: join(d, "svc", "inside"), from: "0" }]), message: /svc is a symbolic link or not a directory/ },
      { what: "restore: the backup directory read from", plant: (d) => swap(join(d, "backup", "run"), victimDir), op: (d) => restoreFilesScript(join(d, "backup", "run"), [{ path: join(d, "svc", "config.json"), from: "inside" }]), message: /run is a symbolic link or not a directory/ },
      { what: "move: the source", plant: (d) => swap(join(d, "keys", "kes.skey"), victim), op: (d) => moveFilesScript([{ from: join(d, "keys", "kes.skey"), to: join(d, "keys", "standby", "kes.skey") }]), message: /kes\.skey is a symbolic link: refusing to move it/ },
      { what: "move: the destination", plant: (d) => plant(victim, join(d, "keys", "standby", "kes.skey")), op: (d) => moveFilesScript([{ from: join(d, "keys", "kes.skey"), to: join(d, "keys", "standby", "kes.skey") }]), message: /standby\/kes\.skey is a symbolic link: refusing to move onto it/ },
      { what: "move: the destination directory", plant: (d) => swap(join(d, "keys", "standby"), victimDir), op: (d) => moveFilesScript([{ from: join(d, "keys", "kes.skey"), to: join(d, "keys", "standby", "kes.skey") }], { owner: "root", group: "root", mode: 0o750 }), message: /standby is a symbolic link or not a directory/ },
      { what: "move: the source directory", plant: (d) => swap(join(d, "keys"), victimDir), op: (d) => moveFilesScript([{ from: join(d, "keys", "inside"), to: join(d, "held") }]), message: /keys is a symbolic link or not a directory/ },
    ];
    for (const c of cases) {
      it(c.what, () => {
        const d = tree(c.what.replace(/\W+/g, "-"));
        c.plant(d);
        const r = sh(c.op(d));
        expect(r.code, r.stderr).toBe(REFUSED_EXIT);
        expect(r.stderr).toMatch(c.message);
        expect(r.stderr).toMatch(/nothing was changed/);
        victimsUntouched();
      });
    }

    it("restore: a link where a file was absent is removed (the name only), never followed", () => {
      const d = tree("restore-absent");
      plant(victim, join(d, "svc", "topology.json"));
      const r = sh(restoreFilesScript(join(d, "backup", "run"), [{ path: join(d, "svc", "topology.json"), from: "1", absent: true }]));
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(join(d, "svc", "topology.json")) || readdirSync(join(d, "svc")).includes("topology.json")).toBe(false);
      victimsUntouched();
    });

    it("move: missing directories at either end are made with the owner and mode asked for; existing ones keep theirs", () => {
      const d = tree("move-make");
      chmodSync(join(d, "keys"), 0o700);
      const r = sh(moveFilesScript([{ from: join(d, "keys", "kes.skey"), to: join(d, "keys", "held", "kes.skey") }], { owner: "root", group: "root", mode: 0o750 }));
      expect(r.code, r.stderr).toBe(0);
      expect(statSync(join(d, "keys", "held")).mode & 0o777).toBe(0o750);
      expect(statSync(join(d, "keys")).mode & 0o777).toBe(0o700);
      expect(readFileSync(join(d, "keys", "held", "kes.skey"), "utf8")).toBe("kes\n");
      expect(statSync(join(d, "keys", "held", "kes.skey")).mode & 0o777).toBe(0o640); // a rename keeps owner and mode
      const missing = sh(moveFilesScript([{ from: join(d, "keys", "vrf.skey"), to: join(d, "keys", "held", "vrf.skey") }]));
      expect(missing).toMatchObject({ code: MISSING_FILE_EXIT, stderr: expect.stringMatching(/^missing .*keys\/vrf\.skey$/m) });
    });
  });

  it.skipIf(process.getuid?.() !== 0)("follows only root's own links in directories only root can write (merged /usr: /bin -> usr/bin); a link another user owns is refused", () => {
    const d = work("merged");
    mkdirSync(join(d, "usr", "lib"), { recursive: true });
    symlinkSync("usr/lib", join(d, "lib")); // made by root here, as Debian's /lib is
    const put = sh(atomicPutScript(join(d, "lib", "unit.service"), Buffer.from("[Unit]\n")), "[Unit]\n");
    expect(put.code, put.stderr).toBe(0);
    expect(readFileSync(join(d, "usr", "lib", "unit.service"), "utf8")).toBe("[Unit]\n");
    symlinkSync("usr/lib", join(d, "lib2"));
    lchownSync(join(d, "lib2"), 12345, 12345); // the same link, but someone else's
    expect(sh(atomicPutScript(join(d, "lib2", "unit.service"), Buffer.from("x")), "x")).toMatchObject({ code: REFUSED_EXIT, stderr: expect.stringMatching(/lib2 is a symbolic link or not a directory/) });
  });
});
