/**
 * Operator keys as operators keep them, on the lab: `pool-ops ping` with only an ssh-agent (a real `ssh-agent`
 * holding the lab key, no key file given), with a passphrase-protected key file, and the clear refusals when neither
 * works (an agent holding only a FIDO key, a wrong passphrase, a passphrase file others can read, no terminal). The
 * pool-ops agent started from such a login serves commands and carries no AWS credentials.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab } from "../../lab/harness";

interface JsonGroup {
  ok: boolean;
  results: Array<{ host: string; status: string; error?: { step: string; message: string } }>;
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** An OpenSSH private key file for a FIDO key (sk-ssh-ed25519@openssh.com) with a made-up key handle: enough for
 * ssh-add and the agent to hold it (signing would need the token; listing does not). Layout: OpenSSH PROTOCOL.key and
 * sshkey.c (sshkey_private_serialize_opt, KEY_ED25519_SK: pk, application, flags, key handle, reserved). */
function fidoKeyFile(path: string): void {
  const str = (v: Buffer | string) => {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const type = "sk-ssh-ed25519@openssh.com";
  const pk = randomBytes(32);
  const pub = Buffer.concat([str(type), str(pk), str("ssh:")]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, str(type), str(pk), str("ssh:"), Buffer.from([1]), str(randomBytes(64)), str(""), str("fido-test")]);
  for (let pad = 1; priv.length % 8 !== 0; pad++) priv = Buffer.concat([priv, Buffer.from([pad])]);
  const one = Buffer.alloc(4);
  one.writeUInt32BE(1);
  const blob = Buffer.concat([Buffer.from("openssh-key-v1\0"), str("none"), str("none"), str(""), one, str(pub), str(priv)]);
  const b64 = blob.toString("base64").replace(/(.{70})/g, "$1\n");
  writeFileSync(path, `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64.trimEnd()}\n-----END OPENSSH PRIVATE KEY-----\n`, { mode: 0o600 });
}

/** A real ssh-agent on its own socket (foreground, so the test ends exactly this process). */
class SshAgent {
  readonly socket: string;
  private readonly child: ChildProcess;
  constructor(dir: string) {
    this.socket = join(dir, `agent-${randomBytes(3).toString("hex")}.sock`);
    this.child = spawn("ssh-agent", ["-D", "-a", this.socket], { stdio: "ignore" });
  }
  async ready(): Promise<this> {
    await until(`ssh-agent's socket ${this.socket}`, () => existsSync(this.socket));
    return this;
  }
  add(keyFile: string): void {
    execFileSync("ssh-add", [keyFile], { env: { ...process.env, SSH_AUTH_SOCK: this.socket }, stdio: "pipe" });
  }
  stop(): void {
    this.child.kill();
  }
}

describe.skipIf(LAB_SKIP)(`operator keys: ssh-agent and passphrase-protected key files${LAB_SKIP_NOTE}`, () => {
  const lab = useLab({ relays: 2 });
  const dir = mkdtempSync(join(tmpdir(), "pool-ops-identity-"));
  const home = join(dir, "home"); // no ~/.ssh: nothing to fall back to
  const stateDir = join(dir, "state");
  const agents: SshAgent[] = [];
  /** The environment of an operator with no key file given (the lab's env.sh names one: blanked here). */
  const noKeyFile = (more: Record<string, string> = {}) => ({ POOL_OPS_IDENTITY: "", HOME: home, POOL_OPS_STATE_DIR: stateDir, SSH_AUTH_SOCK: "", ...more });
  const startAgent = async () => {
    const agent = await new SshAgent(dir).ready();
    agents.push(agent);
    return agent;
  };
  beforeAll(() => {
    mkdirSync(home, { recursive: true });
  });
  afterAll(async () => {
    if (!LAB_SKIP) await runPoolOps(lab(), ["agent", "stop"], { env: noKeyFile({ SSH_AUTH_SOCK: agents[0]?.socket ?? "" }) }).catch(() => undefined);
    for (const agent of agents) agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("ping works with only SSH_AUTH_SOCK set: the lab key held by a real ssh-agent, no key file given", async () => {
    const agent = await startAgent();
    agent.add(lab().files.identity);
    const run = await runPoolOps(lab(), ["--no-agent", "--json", "ping"], { env: noKeyFile({ SSH_AUTH_SOCK: agent.socket }) });
    expect(run.code, run.stderr).toBe(0);
    expect(run.json<JsonGroup>().results.map((r) => r.status)).toEqual(Array(5).fill("ok"));
    // Without the agent (and no key file) there is no way in, and the error says what to do.
    const none = await runPoolOps(lab(), ["--no-agent", "ping"], { env: noKeyFile() });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no SSH identity: SSH_AUTH_SOCK is not set and there is no key at .*id_ed25519/);
    expect(none.stderr).toMatch(/remedy: give --identity FILE .* or start ssh-agent and ssh-add your key/);
  });

  it("an ssh-agent holding only a FIDO key is refused naming the key and why (ssh2 1.17 has no sk-* support); with the lab key added it works", async () => {
    const agent = await startAgent();
    const fido = join(dir, "id_ed25519_sk");
    fidoKeyFile(fido);
    agent.add(fido);
    const run = await runPoolOps(lab(), ["--no-agent", "ping"], { env: noKeyFile({ SSH_AUTH_SOCK: agent.socket }) });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/holds sk-ssh-ed25519@openssh\.com SHA256:\S+ \(fido-test\): none that pool-ops can log in with \(FIDO sk-\* keys are not supported by ssh2 1\.17/);
    expect(run.stdout).not.toMatch(/✓/); // no host was reached
    agent.add(lab().files.identity);
    const both = await runPoolOps(lab(), ["--no-agent", "ping"], { env: noKeyFile({ SSH_AUTH_SOCK: agent.socket }) });
    expect(both.code, both.stderr).toBe(0);
  });

  it("a passphrase-protected key file opens with POOL_OPS_IDENTITY_PASSPHRASE_FILE; the passphrase appears nowhere", async () => {
    const key = join(dir, "id_ed25519_pw");
    copyFileSync(lab().files.identity, key);
    chmodSync(key, 0o600);
    const passphrase = `pw-${randomBytes(8).toString("hex")}`;
    execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", passphrase, "-f", key]);
    expect(readFileSync(key, "utf8")).not.toBe(readFileSync(lab().files.identity, "utf8"));
    const file = join(dir, "passphrase");
    writeFileSync(file, `${passphrase}\n`, { mode: 0o600 });
    const run = await runPoolOps(lab(), ["--no-agent", "--identity", key, "--json", "ping"], { env: noKeyFile({ POOL_OPS_IDENTITY_PASSPHRASE_FILE: file }) });
    expect(run.code, run.stderr).toBe(0);
    expect(run.json<JsonGroup>().results.every((r) => r.status === "ok")).toBe(true);
    const audit = join(lab().dir, "audit.log");
    for (const text of [run.stdout, run.stderr, existsSync(audit) ? readFileSync(audit, "utf8") : ""]) expect(text).not.toContain(passphrase);
  });

  it("refuses clearly: a wrong passphrase, a passphrase file others can read, an encrypted key with no terminal to ask on", async () => {
    const key = join(dir, "id_ed25519_pw2");
    copyFileSync(lab().files.identity, key);
    chmodSync(key, 0o600);
    execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", "right-one", "-f", key]);
    const wrong = join(dir, "wrong");
    writeFileSync(wrong, "wrong-one\n", { mode: 0o600 });
    const bad = await runPoolOps(lab(), ["--no-agent", "--identity", key, "ping"], { env: noKeyFile({ POOL_OPS_IDENTITY_PASSPHRASE_FILE: wrong }) });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/the passphrase does not open this key/);
    expect(bad.stderr).not.toContain("wrong-one");
    const open = join(dir, "open");
    writeFileSync(open, "right-one\n", { mode: 0o644 });
    chmodSync(open, 0o644);
    const readable = await runPoolOps(lab(), ["--no-agent", "--identity", key, "ping"], { env: noKeyFile({ POOL_OPS_IDENTITY_PASSPHRASE_FILE: open }) });
    expect(readable.code).toBe(1);
    expect(readable.stderr).toMatch(/is readable by others \(mode 644\)/);
    const noTty = await runPoolOps(lab(), ["--no-agent", "--identity", key, "ping"], { env: noKeyFile() });
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toMatch(/is protected by a passphrase and there is no terminal to ask on/);
  });

  it("the pool-ops agent started from an ssh-agent login serves commands and inherits no AWS credentials", async () => {
    const agent = agents[0]!;
    const env = noKeyFile({ SSH_AUTH_SOCK: agent.socket, AWS_ACCESS_KEY_ID: "AKIAEXAMPLEEXAMPLE00", AWS_SECRET_ACCESS_KEY: "secret-that-must-not-leak", AWS_PROFILE: "operator" });
    const start = await runPoolOps(lab(), ["agent", "start", "--json"], { env });
    expect(start.code, start.stderr).toBe(0);
    const status = (await runPoolOps(lab(), ["agent", "status", "--json"], { env })).json<{ pid: number; auth: string }>();
    expect(status.auth).toMatch(/^ssh-agent .*\(1 usable key\)$/);
    const environ = readFileSync(`/proc/${status.pid}/environ`, "utf8").split("\0");
    expect(environ.filter((v) => v.startsWith("AWS_"))).toEqual([]);
    expect(environ.some((v) => v.includes("secret-that-must-not-leak"))).toBe(false);
    const cmdline = readFileSync(`/proc/${status.pid}/cmdline`, "utf8");
    expect(cmdline).not.toMatch(/--identity/);
    const run = await runPoolOps(lab(), ["--json", "run", "--", "true"], { env });
    expect(run.code, run.stderr).toBe(0);
  });

  it("the pool-ops agent started from a passphrase-protected key gets the key over a pipe: not its command line, not its environment", async () => {
    const key = join(dir, "id_ed25519_pw3");
    copyFileSync(lab().files.identity, key);
    chmodSync(key, 0o600);
    execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", "agent-pass", "-f", key]);
    const file = join(dir, "agent-passphrase");
    writeFileSync(file, "agent-pass\n", { mode: 0o600 });
    const env = noKeyFile({ POOL_OPS_IDENTITY: key, POOL_OPS_IDENTITY_PASSPHRASE_FILE: file });
    try {
      const start = await runPoolOps(lab(), ["agent", "start", "--no-connect"], { env });
      expect(start.code, start.stderr).toBe(0);
      const status = (await runPoolOps(lab(), ["agent", "status", "--json"], { env })).json<{ pid: number; auth: string }>();
      expect(status.auth).toContain(`key ${key} (ssh-ed25519 SHA256:`);
      const environ = readFileSync(`/proc/${status.pid}/environ`, "utf8");
      expect(environ).not.toContain("POOL_OPS_IDENTITY");
      expect(environ).not.toContain("agent-pass");
      expect(readFileSync(`/proc/${status.pid}/cmdline`, "utf8")).not.toContain(key);
      const run = await runPoolOps(lab(), ["--json", "run", "--role", "producer", "--", "true"], { env });
      expect(run.code, run.stderr).toBe(0);
      // While the agent runs, commands go through it and never open the key: no passphrase needed (none at hand here).
      const noPassphrase = noKeyFile({ POOL_OPS_IDENTITY: key });
      expect((await runPoolOps(lab(), ["agent", "status"], { env: noPassphrase })).code).toBe(0);
      const relayed = await runPoolOps(lab(), ["--json", "run", "--role", "relay", "--", "true"], { env: noPassphrase });
      expect(relayed.code, relayed.stderr).toBe(0);
      const direct = await runPoolOps(lab(), ["--no-agent", "ping"], { env: noPassphrase });
      expect(direct.stderr).toMatch(/protected by a passphrase and there is no terminal to ask on/);
    } finally {
      await runPoolOps(lab(), ["agent", "stop"], { env });
    }
  });
});
