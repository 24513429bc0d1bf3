/**
 * The doctor's checks: each looks at one thing a job needs, says what the machine has, and when it is missing (or
 * worth a warning) the command that fixes it. A check never changes the machine and never reaches the network.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadPoolConfigFile } from "../../config/load";
import { resourceName } from "../../config/names";
import { loadInventoryFile, allHosts } from "../../ops/remote/inventory";
import { isSupportedNode, SUPPORTED_NODE } from "../runtime";
import { findAwsCredentials, type AwsCredentialSource } from "./aws-credentials";
import type { Machine, Project } from "./machine";

export type CheckStatus = "ok" | "warn" | "missing";

export interface CheckResult {
  readonly status: CheckStatus;
  /** What the machine has (or lacks), in a line. */
  readonly found: string;
  /** The command (or step) that fixes it; given whenever the status is not ok. */
  readonly fix?: string;
}

export interface Check {
  readonly title: string;
  run(machine: Machine, project: Project): CheckResult;
}

const ok = (found: string): CheckResult => ({ status: "ok", found });
const warn = (found: string, fix: string): CheckResult => ({ status: "warn", found, fix });
const missing = (found: string, fix: string): CheckResult => ({ status: "missing", found, fix });

const SETUP = "bash scripts/setup.sh";
/** Terraform the README asks for (S3-native state locking needs 1.10); CI and the tests pin 1.11.4. */
const TERRAFORM_MINIMUM: readonly [number, number] = [1, 10];
const TERRAFORM_TESTED = "1.11.4";
const TERRAFORM_FIX = `install Terraform ${TERRAFORM_TESTED} (https://developer.hashicorp.com/terraform/install; Debian: HashiCorp's apt repository, then apt-get install terraform=${TERRAFORM_TESTED}-1)`;
const MFA_SESSION_FIX = (profile: string) => `eval "$(aws configure export-credentials --profile ${profile} --format env)"   # the AWS CLI asks for the MFA code`;

function node(machine: Machine): CheckResult {
  const where = `${machine.node.version} (${machine.node.execPath})`;
  return isSupportedNode(machine.node.version)
    ? ok(where)
    : missing(`${where}; the project needs ${SUPPORTED_NODE}`, `${SETUP}   # installs the project's Node into node_modules; npm run and npx use it`);
}

function portableNode(_machine: Machine, project: Project): CheckResult {
  try {
    const found = project.portableNode();
    return ok(`${found.packageName} ${found.version} (${found.binary})`);
  } catch (error) {
    return missing((error as Error).message, SETUP);
  }
}

function dependencies(_machine: Machine, project: Project): CheckResult {
  const lock = join(project.root, "package-lock.json");
  const stamp = join(project.root, "node_modules", ".package-lock.sha");
  if (!existsSync(stamp)) return missing("node_modules was not installed by scripts/setup.sh", SETUP);
  const want = createHash("sha256").update(readFileSync(lock)).digest("hex");
  return readFileSync(stamp, "utf8").trim() === want
    ? ok("node_modules matches package-lock.json")
    : missing("node_modules was installed from another package-lock.json", SETUP);
}

/** `cdktf deploy` runs terraform under node-pty; its package has binaries up to Node 22, setup builds it for newer. */
function cdktfPty(machine: Machine, project: Project): CheckResult {
  try {
    project.loadCdktfPty();
    return ok(`loads on Node ${machine.node.version}`);
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0];
    return missing(`node-pty does not load on Node ${machine.node.version}: ${reason}`, `rm node_modules/.package-lock.sha && ${SETUP}   # builds it for this Node (needs make and g++)`);
  }
}

function terraform(machine: Machine): CheckResult {
  const run = machine.run("terraform", ["version", "-json"]);
  if (!run) return missing("terraform is not on PATH", TERRAFORM_FIX);
  let version: string | undefined;
  try {
    version = (JSON.parse(run.stdout) as { terraform_version?: string }).terraform_version;
  } catch {
    version = undefined;
  }
  if (run.status !== 0 || !version) return missing(`terraform version failed: ${(run.stderr || run.stdout).trim().split("\n")[0]}`, TERRAFORM_FIX);
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major < TERRAFORM_MINIMUM[0] || (major === TERRAFORM_MINIMUM[0] && minor < TERRAFORM_MINIMUM[1])) {
    return missing(`${version}; needs ${TERRAFORM_MINIMUM.join(".")} or later (S3-native state locking)`, TERRAFORM_FIX);
  }
  return ok(version === TERRAFORM_TESTED ? version : `${version} (CI and the tests use ${TERRAFORM_TESTED})`);
}

/** Terraform's platform directory name for this machine (its GOOS_GOARCH). */
function terraformPlatform(machine: Machine): string {
  const arch = { x64: "amd64", arm64: "arm64", ia32: "386", arm: "arm" }[machine.arch] ?? machine.arch;
  return `${machine.platform === "win32" ? "windows" : machine.platform}_${arch}`;
}

/** Versions of hashicorp/aws in a filesystem mirror or plugin cache for this platform (unpacked or packed layout). */
function providerVersionsIn(dir: string, platform: string): string[] {
  const base = join(dir, "registry.terraform.io", "hashicorp", "aws");
  if (!existsSync(base)) return [];
  const versions = new Set<string>();
  for (const entry of readdirSync(base)) {
    const packed = new RegExp(`^terraform-provider-aws_(.+)_${platform}\\.zip$`).exec(entry);
    if (packed) versions.add(packed[1]!);
    else if (existsSync(join(base, entry, platform))) versions.add(entry);
  }
  return [...versions].sort();
}

function awsProvider(machine: Machine, project: Project): CheckResult {
  const want = project.awsProviderVersion;
  const platform = terraformPlatform(machine);
  const mirrorFix = `npm run synth && terraform -chdir=cdktf.out/stacks/network providers mirror -platform=${platform} ${project.providerMirror}   # where registry.terraform.io is reachable`;
  if (existsSync(project.providerMirror)) {
    const there = providerVersionsIn(project.providerMirror, platform);
    if (there.includes(want)) return ok(`hashicorp/aws ${want} (${platform}) in the mirror ${project.providerMirror}, the only source Terraform uses here`);
    return missing(`the mirror ${project.providerMirror} has hashicorp/aws ${there.join(", ") || "no version"} for ${platform}, the stacks require ${want}`, mirrorFix);
  }
  const cache = machine.env.TF_PLUGIN_CACHE_DIR;
  if (cache && providerVersionsIn(cache, platform).includes(want)) return ok(`hashicorp/aws ${want} in the plugin cache ${cache}`);
  return warn(
    `no mirror at ${project.providerMirror}: terraform init downloads hashicorp/aws ${want} from registry.terraform.io`,
    `nothing, where registry.terraform.io is reachable; otherwise mirror it: ${mirrorFix}`,
  );
}

function describeSource(source: AwsCredentialSource): string {
  switch (source.kind) {
    case "environment-session":
      return `temporary credentials in the environment${source.expires ? ` (expire ${source.expires.toISOString()})` : ""}`;
    case "environment-keys":
      return "long-lived access keys in the environment (AWS_ACCESS_KEY_ID, no session token)";
    case "web-identity":
      return `web identity for ${source.roleArn} (AWS_WEB_IDENTITY_TOKEN_FILE)`;
    case "container":
      return "container credentials (AWS_CONTAINER_CREDENTIALS_*)";
    case "profile-sso":
      return `IAM Identity Center profile ${source.profile}`;
    case "profile-role":
      return `profile ${source.profile} assumes ${source.roleArn}${source.mfaSerial ? ` with MFA (${source.mfaSerial})` : " without MFA"}`;
    case "profile-process":
      return `profile ${source.profile} runs a credential_process`;
    case "profile-static":
      return `profile ${source.profile}: long-lived access keys in ${source.file}`;
    case "profile-unknown":
      return `profile ${source.profile} has no credentials (no keys, role_arn, sso_session or credential_process)`;
    case "none":
      return `none: no AWS_ACCESS_KEY_ID, and no profile ${source.profile} in ${source.files.join(" or ")}`;
  }
}

const NO_CREDENTIALS_FIX = "aws configure sso --profile pool && export AWS_PROFILE=pool   # or any standard source: environment, SSO, a role profile";
/** The instance metadata service is a source too, but only asking it (a network call) would tell. */
const NOT_ASKED = " (an EC2 instance profile would be found only by asking the metadata service; the doctor does not)";

function expired(source: AwsCredentialSource, now: Date): boolean {
  return source.kind === "environment-session" && source.expires !== undefined && source.expires.getTime() <= now.getTime();
}

/** Credentials for Terraform (plan, deploy): any source its AWS provider reads, which cannot prompt for MFA either. */
function awsCredentials(machine: Machine): CheckResult {
  const source = findAwsCredentials(machine.env, machine.home);
  const found = describeSource(source);
  if (source.kind === "none" || source.kind === "profile-unknown") return missing(found + NOT_ASKED, NO_CREDENTIALS_FIX);
  if (expired(source, machine.now())) return missing(`${found}: expired`, "make a new session (as you made this one)");
  if (source.kind === "profile-role" && source.mfaSerial) return missing(`${found}: nothing here can ask for the MFA code`, MFA_SESSION_FIX(source.profile));
  return ok(found);
}

/** The operator role: pool-ops's AWS calls need a session of it, made with MFA (the role's trust requires it). */
function operatorSession(machine: Machine): CheckResult {
  const source = findAwsCredentials(machine.env, machine.home);
  const found = describeSource(source);
  const role = `arn:aws:iam::<account>:role/${operatorRoleName(machine)}`;
  const roleProfile = `a profile with role_arn = ${role}, mfa_serial = <your MFA device ARN> and source_profile = <your keys>, then ${MFA_SESSION_FIX("<that profile>")}`;
  switch (source.kind) {
    case "environment-session":
      if (expired(source, machine.now())) return missing(`${found}: expired`, "make a new operator session (as you made this one)");
      return ok(`${found}; which role is not checked offline: aws sts get-caller-identity should name ${operatorRoleName(machine)}`);
    case "profile-role":
      if (source.mfaSerial) {
        return missing(`${found}: pool-ops (the AWS SDK for JavaScript) cannot ask for the MFA code`, MFA_SESSION_FIX(source.profile));
      }
      return missing(`${found}: the operator role trusts only sessions made with MFA (aws:MultiFactorAuthPresent)`, `add mfa_serial = <your MFA device ARN> to profile ${source.profile}, then ${MFA_SESSION_FIX(source.profile)}`);
    case "environment-keys":
    case "profile-static":
      return missing(`${found}: pool-ops needs a session of the operator role, made with MFA`, roleProfile);
    case "profile-sso":
    case "profile-process":
    case "web-identity":
    case "container":
      return warn(`${found}: whether it is an MFA session of ${operatorRoleName(machine)} is not checked offline`, `aws sts get-caller-identity   # should name ${operatorRoleName(machine)}; if not: ${roleProfile}`);
    case "none":
    case "profile-unknown":
      return missing(found, roleProfile);
  }
}

/** `<pool>-operator` (stacks/constructs/operator-role.ts), for the pool POOL_CONFIG names when it loads. */
function operatorRoleName(machine: Machine): string {
  const file = machine.env.POOL_CONFIG;
  try {
    return file ? resourceName(loadPoolConfigFile(file).name, "operator") : "<pool>-operator";
  } catch {
    return "<pool>-operator";
  }
}

/** Whether a private key file needs a passphrase (OpenSSH's own format, or PEM/PKCS#8 encryption headers). */
export function privateKeyIsEncrypted(text: string): boolean {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text) || /^Proc-Type:\s*4,ENCRYPTED/m.test(text)) return true;
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (!body) return false;
  // openssh-key-v1\0, then the cipher name as an SSH string (uint32 length, bytes): "none" when unencrypted
  // (OpenSSH PROTOCOL.key).
  const bytes = Buffer.from(body.replace(/\s+/g, ""), "base64");
  const magic = "openssh-key-v1\0";
  if (bytes.subarray(0, magic.length).toString("latin1") !== magic || bytes.length < magic.length + 4) return false;
  const length = bytes.readUInt32BE(magic.length);
  return bytes.subarray(magic.length + 4, magic.length + 4 + length).toString("latin1") !== "none";
}

function sshKey(machine: Machine): CheckResult {
  // The same choice as pool-ops (ops/context.ts, identityFile): $POOL_OPS_IDENTITY, else ~/.ssh/id_{ed25519,ecdsa,rsa}.
  const explicit = machine.env.POOL_OPS_IDENTITY;
  const candidates = explicit ? [explicit] : ["id_ed25519", "id_ecdsa", "id_rsa"].map((f) => join(machine.home, ".ssh", f));
  const file = candidates.find((f) => existsSync(f));
  const newKey = "ssh-keygen -t ed25519 -N '' -f ~/.ssh/pool-ops && export POOL_OPS_IDENTITY=~/.ssh/pool-ops   # and authorise it for ssh.user on the hosts";
  if (!file) {
    const agent = machine.env.SSH_AUTH_SOCK ? "; an ssh-agent runs (SSH_AUTH_SOCK), but pool-ops signs with a key file, not through an agent" : "";
    return missing(`no SSH private key at ${candidates.join(", ")}${agent}`, `export POOL_OPS_IDENTITY=<your key file> (or --identity FILE); without one: ${newKey}`);
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return missing(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, `chmod 600 ${file} (as its owner)`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return missing(`${file} is not a private key`, `export POOL_OPS_IDENTITY=<your private key file>`);
  if (privateKeyIsEncrypted(text)) {
    return missing(`${file} is protected by a passphrase: pool-ops reads the key file and cannot ask for it (nor use an ssh-agent)`, newKey);
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) return warn(`${file}, readable by others (mode ${mode.toString(8)})`, `chmod 600 ${file}`);
  return ok(file);
}

function knownHosts(machine: Machine): CheckResult {
  const file = machine.env.POOL_OPS_KNOWN_HOSTS || join(machine.home, ".ssh", "known_hosts");
  if (!existsSync(file)) return warn(`no ${file}: pool-ops refuses hosts whose keys it has not recorded`, "npx pool-ops hosts trust   # compare the fingerprints with the instances' console output");
  const entries = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#")).length;
  return ok(`${file} (${entries} key${entries === 1 ? "" : "s"})`);
}

function poolConfig(machine: Machine): CheckResult {
  const file = machine.env.POOL_CONFIG;
  if (!file) return warn("POOL_CONFIG is not set: pool-ops and synth use the embedded sample pool, not yours", "export POOL_CONFIG=$PWD/my-pool.yaml");
  try {
    const config = loadPoolConfigFile(file);
    return ok(`pool ${config.name} (${config.network}, ${config.region}) from ${file}`);
  } catch (error) {
    return missing((error as Error).message.split("\n").slice(0, 3).join("; "), `fix ${file} (each wrong field is named above)`);
  }
}

function inventory(machine: Machine): CheckResult {
  const file = machine.env.POOL_OPS_INVENTORY;
  const make = "npx cdktf output nodes --outputs-file cdktf-outputs.json && export POOL_OPS_INVENTORY=$PWD/cdktf-outputs.json   # or --from-aws on each command";
  if (!file) return warn("POOL_OPS_INVENTORY is not set: each command then needs --inventory FILE or --from-aws", make);
  try {
    const hosts = allHosts(loadInventoryFile(file));
    return ok(`${file} (${hosts.length} hosts)`);
  } catch (error) {
    return missing((error as Error).message, make);
  }
}

function root(machine: Machine): CheckResult {
  if (machine.uid === 0) return ok("running as root");
  return missing(`running as uid ${machine.uid ?? "(none)"}: the lab makes network namespaces and mounts, which needs root`, "sudo bash scripts/test.sh   # or run the doctor as root to check the rest");
}

function moto(machine: Machine): CheckResult {
  // The Python lab/aws-emulator.ts starts moto with.
  const python = machine.env.POOL_EMULATOR_PYTHON || "python3";
  const fix = "pip install 'moto[server]'   # CI: pipx install 'moto[server]==5.2.1'";
  const run = machine.run(python, ["-c", "import moto, moto.server; print(moto.__version__)"]);
  if (!run) return missing(`${python} is not on PATH`, `apt-get install python3 && ${fix}`);
  if (run.status !== 0) return missing(`${python} cannot import moto.server`, fix);
  return ok(`moto ${run.stdout.trim()} (${python})`);
}

/** A tool the tests or the lab run, found at the path scripts/setup.sh looks for, with its Debian package. */
function osTool(path: string, debianPackage: string, versionArgs?: readonly string[]): Check["run"] {
  return (machine) => {
    if (!machine.isExecutable(path)) return missing(`no ${path}`, `apt-get install ${debianPackage}   # or: sudo ${SETUP}`);
    const version = versionArgs ? machine.run(path, versionArgs) : undefined;
    const line = version && version.status === 0 ? (version.stdout || version.stderr).trim().split("\n")[0] : "";
    return ok(line ? `${path} (${line})` : path);
  };
}

/** Every check by id. Jobs (jobs.ts) name the ones they need. */
export const CHECKS = {
  node: { title: "Node", run: node },
  "portable-node": { title: "portable Node (copied into lab hosts)", run: portableNode },
  dependencies: { title: "npm dependencies", run: dependencies },
  terraform: { title: "Terraform", run: terraform },
  "cdktf-pty": { title: "cdktf deploy's terminal (node-pty)", run: cdktfPty },
  "aws-provider": { title: "Terraform's hashicorp/aws provider", run: awsProvider },
  "aws-credentials": { title: "AWS credentials (Terraform)", run: awsCredentials },
  "operator-session": { title: "AWS: operator role session with MFA", run: operatorSession },
  "ssh-key": { title: "SSH key for pool-ops", run: sshKey },
  "known-hosts": { title: "known_hosts", run: knownHosts },
  "pool-config": { title: "pool config (POOL_CONFIG)", run: poolConfig },
  inventory: { title: "inventory (POOL_OPS_INVENTORY)", run: inventory },
  root: { title: "root", run: root },
  moto: { title: "moto (the AWS emulator)", run: moto },
  iproute2: { title: "ip (network namespaces)", run: osTool("/usr/sbin/ip", "iproute2", ["-V"]) },
  sshd: { title: "OpenSSH server (lab hosts)", run: osTool("/usr/sbin/sshd", "openssh-server") },
  promtool: { title: "promtool (alert rule tests)", run: osTool("/usr/bin/promtool", "prometheus", ["--version"]) },
  "systemd-nspawn": { title: "systemd-nspawn (booted hosts)", run: osTool("/usr/bin/systemd-nspawn", "systemd-container", ["--version"]) },
  debootstrap: { title: "debootstrap (Debian 12 root file systems)", run: osTool("/usr/sbin/debootstrap", "debootstrap", ["--version"]) },
} satisfies Record<string, Check>;

export type CheckId = keyof typeof CHECKS;
