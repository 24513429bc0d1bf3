/**
 * The local lab: a pool of real OpenSSH hosts in Linux network namespaces, shaped like the AWS pool.
 *
 *   operator (root netns) ── plab<slot> ══ eth0 [bastion netns] br0 ══ eth0 [relay-1 netns]
 *       10.249.<slot>.1            10.249.<slot>.2     10.248.<slot>.1 ├═ eth0 [relay-2 netns] …
 *                                                                       └═ eth0 [producer-2 netns]
 *
 * - The bastion is the only host reachable from the machine. Its namespace holds the bridge of the private segment
 *   and keeps `net.ipv4.ip_forward=0`, so only SSH forwarding (direct-tcpip channels) crosses it. The machine has a
 *   route to the private segment *via the bastion* so that a direct probe of a producer ends at the bastion (where it
 *   is refused), never on the machine's real network.
 * - Every host runs its own sshd (own host key) in its own mount and UTS namespace: its own `/opt/cardano`, its own
 *   hostname, and its own `/etc/passwd`, `/etc/shadow`, `/etc/group`, `/etc/hosts` and `/etc/sudoers`
 *   (bind-mounted from the lab dir), which add a login user `admin` with passwordless sudo and a `cardano` service
 *   user — as on a Debian AMI — without touching the machine's real accounts.
 * - Several labs coexist: each takes a free slot (an atomic `mkdir` under /run/pool-ops-lab), which gives it
 *   distinct subnets and interface names; namespaces carry the lab id.
 *
 * Everything made is recorded in `<labDir>/state.json`; `labDown` removes exactly that.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TEMPLATES = join(REPO_DIR, "lab", "templates");
/** Where lab state dirs live: `<repo>/.lab/<id>/` unless LAB_ROOT says otherwise. */
export const DEFAULT_LAB_ROOT = process.env.LAB_ROOT ?? join(REPO_DIR, ".lab");
/** Machine-wide slot registry shared by every checkout, so labs of different worktrees never collide. */
const SLOT_REGISTRY = "/run/pool-ops-lab";
const MAX_SLOT = 250;

/** Lab account ids: high, so they do not meet real accounts of the machine (they exist only inside lab hosts). */
export const LAB_LOGIN_USER = "admin";
const LAB_LOGIN_UID = 61100;
export const LAB_NODE_USER = "cardano";
const LAB_NODE_UID = 61101;

export type LabRole = "bastion" | "relay" | "producer" | "sandbox";

export interface LabHost {
  readonly name: string;
  readonly role: LabRole;
  readonly namespace: string;
  /** The address pool-ops connects to: the bastion's public side, a node's private address. */
  readonly address: string;
  readonly privateIp: string;
  /** The interface whose state is this host's link: `ip -n <namespace> link set <device> down` cuts it off. */
  readonly link: { readonly namespace: string | null; readonly device: string };
  /** This host's own files: `opt-cardano/` (its /opt/cardano), `etc/`, `home/`, host key, sshd config and log. */
  readonly dir: string;
  readonly instanceId: string;
  sshdPid: number;
}

export interface LabState {
  readonly id: string;
  readonly slot: number;
  readonly dir: string;
  readonly createdAt: string;
  readonly operatorAddress: string;
  readonly publicCidr: string;
  readonly privateCidr: string;
  readonly operatorLink: string;
  readonly hosts: LabHost[];
  readonly files: {
    readonly inventory: string;
    readonly knownHosts: string;
    readonly identity: string;
    readonly poolConfig: string;
    readonly env: string;
  };
}

export interface LabUpOptions {
  /** Lab id: lowercase letters and digits, up to 8. @default random */
  readonly id?: string;
  /** @default DEFAULT_LAB_ROOT */
  readonly root?: string;
  /** @default 4 */
  readonly relays?: number;
  /** Add the golden-image sandbox (a host of role `sandbox` on the private segment, in the inventory). @default false */
  readonly sandbox?: boolean;
  /** Added round-trip time on the operator↔bastion link (netem, half each way). @default 0 */
  readonly operatorRttMs?: number;
  /** Added round-trip time on each bastion↔node link. @default 0 */
  readonly privateRttMs?: number;
  /** pool-ops SSH timeouts written to the lab's pool config (seconds). */
  readonly connectTimeoutSeconds?: number;
  readonly keepaliveIntervalSeconds?: number;
  readonly keepaliveCountMax?: number;
}

export class LabError extends Error {
  override name = "LabError";
}

/** Why the lab cannot run here, or undefined when it can (root, `ip netns`, sshd, sudo). */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return "the lab needs Linux network namespaces";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "the lab needs root (network namespaces, mounts): run as root";
  for (const [path, pkg] of [
    ["/usr/sbin/sshd", "openssh-server"],
    ["/usr/bin/sudo", "sudo"],
    ["/usr/bin/ssh-keygen", "openssh-client"],
    ["/usr/bin/unshare", "util-linux"],
  ] as const) {
    if (!existsSync(path)) return `${path} is missing: apt-get install ${pkg}`;
  }
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "pipe" });
  } catch {
    return "`ip netns` is unavailable: apt-get install iproute2 (and a kernel with network namespaces)";
  }
  return undefined;
}

function sh(cmd: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], input });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new LabError(`${cmd} ${args.join(" ")}: ${(e.stderr ?? "").trim() || e.message}`);
  }
}

function ip(...args: string[]): string {
  return sh("ip", args);
}

function nsExec(namespace: string, ...args: string[]): string {
  return sh("ip", ["netns", "exec", namespace, ...args]);
}

function render(template: string, values: Record<string, string>): string {
  return readFileSync(join(TEMPLATES, template), "utf8").replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new LabError(`template ${template}: no value for {{${key}}}`);
    return value;
  });
}

function claimSlot(id: string): number {
  mkdirSync(SLOT_REGISTRY, { recursive: true });
  for (let slot = 1; slot <= MAX_SLOT; slot++) {
    const path = join(SLOT_REGISTRY, `slot-${slot}`);
    try {
      mkdirSync(path); // atomic: exactly one lab wins a slot
    } catch {
      continue;
    }
    writeFileSync(join(path, "lab-id"), `${id}\n`);
    return slot;
  }
  throw new LabError(`no free lab slot (1-${MAX_SLOT}) under ${SLOT_REGISTRY}: bring old labs down with npm run lab:down`);
}

function releaseSlot(slot: number): void {
  rmSync(join(SLOT_REGISTRY, `slot-${slot}`), { recursive: true, force: true });
}

function instanceIdFor(labId: string, host: string): string {
  return `i-${createHash("sha256").update(`${labId}/${host}`).digest("hex").slice(0, 17)}`;
}

async function waitFor(what: string, deadlineMs: number, check: () => boolean): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until) throw new LabError(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stateFile(dir: string): string {
  return join(dir, "state.json");
}

function saveState(state: LabState): void {
  writeFileSync(stateFile(state.dir), `${JSON.stringify(state, null, 2)}\n`);
}

export function loadLabState(idOrDir: string, root = DEFAULT_LAB_ROOT): LabState {
  const dir = idOrDir.includes("/") ? idOrDir : join(root, idOrDir);
  const file = stateFile(dir);
  if (!existsSync(file)) throw new LabError(`no lab at ${dir} (no state.json)`);
  return JSON.parse(readFileSync(file, "utf8")) as LabState;
}

export function listLabs(root = DEFAULT_LAB_ROOT): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((id) => existsSync(stateFile(join(root, id))));
}

function writeAccounts(hostDir: string, hostName: string, hostsFile: string): void {
  const etc = join(hostDir, "etc");
  mkdirSync(etc, { recursive: true });
  const home = join(hostDir, "home");
  mkdirSync(home, { recursive: true });
  chownSync(home, LAB_LOGIN_UID, LAB_LOGIN_UID);
  chmodSync(home, 0o755);
  const passwd = readFileSync("/etc/passwd", "utf8").trimEnd();
  const group = readFileSync("/etc/group", "utf8").trimEnd();
  const shadow = readFileSync("/etc/shadow", "utf8").trimEnd();
  writeFileSync(
    join(etc, "passwd"),
    `${passwd}\n${LAB_LOGIN_USER}:x:${LAB_LOGIN_UID}:${LAB_LOGIN_UID}:pool-ops lab login:${home}:/bin/bash\n` +
      `${LAB_NODE_USER}:x:${LAB_NODE_UID}:${LAB_NODE_UID}:cardano-node:/opt/cardano:/usr/sbin/nologin\n`,
  );
  writeFileSync(join(etc, "group"), `${group}\n${LAB_LOGIN_USER}:x:${LAB_LOGIN_UID}:\n${LAB_NODE_USER}:x:${LAB_NODE_UID}:\n`);
  // "*" not "!": with UsePAM no, sshd refuses a locked ("!") account even for key logins.
  writeFileSync(join(etc, "shadow"), `${shadow}\n${LAB_LOGIN_USER}:*:19000:0:99999:7:::\n${LAB_NODE_USER}:*:19000:0:99999:7:::\n`, { mode: 0o640 });
  writeFileSync(join(etc, "hosts"), `127.0.0.1\tlocalhost\n127.0.1.1\t${hostName}\n${hostsFile}`);
  writeFileSync(join(etc, "sudoers"), render("sudoers", { user: LAB_LOGIN_USER }), { mode: 0o440 });
  chmodSync(join(etc, "sudoers"), 0o440);
}

/** Starts (or restarts) one host's sshd inside its namespaces; resolves when it listens. */
export async function startSshd(host: LabHost): Promise<void> {
  const etc = join(host.dir, "etc");
  const log = join(host.dir, "sshd.log");
  writeFileSync(log, "");
  const binds = ["passwd", "group", "shadow", "hosts", "sudoers"].map((f) => `mount --bind ${etc}/${f} /etc/${f}`).join(" && ");
  const script = [
    "set -e",
    `hostname ${host.name}`,
    `mount --bind ${join(host.dir, "opt-cardano")} /opt/cardano`,
    binds,
    `exec /usr/sbin/sshd -D -e -f ${join(host.dir, "sshd_config")}`,
  ].join("\n");
  const fd = openSync(log, "a");
  const child = spawn("ip", ["netns", "exec", host.namespace, "unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", script], {
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new LabError(`${host.name}: could not start sshd`);
  // `ip netns exec`, `unshare` and `sh -c … exec` all exec in place: this pid is sshd's.
  host.sshdPid = child.pid;
  let exited = false;
  child.on("exit", () => (exited = true));
  await waitFor(`${host.name}'s sshd to listen (log: ${log})`, 10_000, () => {
    if (exited) throw new LabError(`${host.name}: sshd exited at start:\n${readFileSync(log, "utf8")}`);
    return readFileSync(log, "utf8").includes("Server listening on");
  });
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function stopSshd(host: LabHost): Promise<void> {
  if (host.sshdPid > 0 && processAlive(host.sshdPid)) {
    process.kill(host.sshdPid, "SIGTERM");
    await waitFor(`${host.name}'s sshd (pid ${host.sshdPid}) to stop`, 5_000, () => !processAlive(host.sshdPid));
  }
}

function ed25519KeyPair(path: string, comment: string): { publicKey: string } {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
  return { publicKey: readFileSync(`${path}.pub`, "utf8").trim() };
}

/** Gives a host a new host key and restarts its sshd: what a rebuilt (or impersonated) host looks like. */
export async function replaceHostKey(state: LabState, hostName: string): Promise<string> {
  const host = labHost(state, hostName);
  await stopSshd(host);
  const { publicKey } = ed25519KeyPair(join(host.dir, "ssh_host_ed25519_key"), `${host.name}@lab-${state.id}`);
  await startSshd(host);
  saveState(state);
  return publicKey;
}

export function labHost(state: LabState, name: string): LabHost {
  const host = state.hosts.find((h) => h.name === name);
  if (!host) throw new LabError(`lab ${state.id} has no host ${name} (hosts: ${state.hosts.map((h) => h.name).join(", ")})`);
  return host;
}

/** Takes a host's link down or up (the bastion-side end of its veth; for the bastion, the operator-side end). */
export function setLink(state: LabState, hostName: string, up: boolean): void {
  const { link } = labHost(state, hostName);
  ip(...(link.namespace ? ["-n", link.namespace] : []), "link", "set", link.device, up ? "up" : "down");
}

function setDelay(namespace: string | null, device: string, oneWayMs: number): void {
  const nsArgs = namespace ? ["-n", namespace] : [];
  // `replace` adds or changes; deleting a qdisc that is not there fails, so only delete when asked for 0.
  if (oneWayMs > 0) {
    try {
      sh("tc", [...nsArgs, "qdisc", "replace", "dev", device, "root", "netem", "delay", `${oneWayMs}ms`]);
    } catch (error) {
      if (/qdisc kind is unknown/.test((error as Error).message)) {
        throw new LabError(`this kernel has no netem qdisc (module sch_netem): latency cannot be added with tc here (lab/latency-proxy.ts is the fallback)`);
      }
      throw error;
    }
  }
  else {
    try {
      sh("tc", [...nsArgs, "qdisc", "del", "dev", device, "root"]);
    } catch {
      /* no qdisc: nothing to remove */
    }
  }
}

/** Whether this kernel offers tc's netem qdisc (some VM kernels do not). */
export function netemAvailable(): boolean {
  try {
    execFileSync("modprobe", ["-q", "sch_netem"], { stdio: "ignore" });
  } catch {
    /* built in, or not there at all: the probe below decides */
  }
  const probe = `plnetem${process.pid % 100000}`;
  try {
    ip("link", "add", probe, "type", "veth", "peer", "name", `${probe}p`);
  } catch {
    return false;
  }
  try {
    sh("tc", ["qdisc", "add", "dev", probe, "root", "netem", "delay", "1ms"]);
    return true;
  } catch {
    return false;
  } finally {
    ip("link", "del", probe);
  }
}

/** Adds round-trip latency (netem, half on each end of a link). 0 removes it. */
export function setLatency(state: LabState, latency: { operatorRttMs?: number; privateRttMs?: number }): void {
  const bastion = labHost(state, "bastion");
  if (latency.operatorRttMs !== undefined) {
    const half = latency.operatorRttMs / 2;
    setDelay(null, state.operatorLink, half);
    setDelay(bastion.namespace, "eth0", half);
  }
  if (latency.privateRttMs !== undefined) {
    const half = latency.privateRttMs / 2;
    for (const host of state.hosts.filter((h) => h.role !== "bastion")) {
      setDelay(host.link.namespace, host.link.device, half);
      setDelay(host.namespace, "eth0", half);
    }
  }
}

function labPoolConfig(state: LabState, opts: LabUpOptions, authorizedKey: string): string {
  const service = join(state.dir, "bin", "cardano-service");
  return [
    `# Pool config of lab ${state.id} (written by lab/lab.ts): the default pool, reached and driven the lab's way.`,
    "name: sandstone",
    "network: preprod",
    "region: eu-west-1",
    "availabilityZones: [eu-west-1a, eu-west-1b, eu-west-1c]",
    "bastion:",
    "  adminCidrs: [198.51.100.0/24]",
    "ssh:",
    `  user: ${LAB_LOGIN_USER}`,
    "  sudo: true",
    "  authorizedKeys:",
    `    - ${authorizedKey}`,
    `  connectTimeoutSeconds: ${opts.connectTimeoutSeconds ?? 5}`,
    `  keepaliveIntervalSeconds: ${opts.keepaliveIntervalSeconds ?? 1}`,
    `  keepaliveCountMax: ${opts.keepaliveCountMax ?? 3}`,
    "  commandTimeoutSeconds: 60",
    "node:",
    `  user: ${LAB_NODE_USER}`,
    `  group: ${LAB_NODE_USER}`,
    "  home: /opt/cardano",
    // /usr is the machine's own in the lab: binaries a bake installs go under each host's /opt/cardano instead.
    "  binDir: /opt/cardano/bin",
    "  service:",
    "    name: cardano-node",
    `    start: ${service} start`,
    `    stop: ${service} stop`,
    `    restart: ${service} restart`,
    `    reload: ${service} reload`,
    `    isActive: ${service} is-active`,
    // /etc is shared by the lab's hosts (only a few files are bind-mounted): each host keeps its unit in its own home.
    "    unitFile: /opt/cardano/systemd/cardano-node.service",
    "image:",
    "  exporterBinDir: /opt/cardano/bin",
    // Only /opt/cardano is a lab host's own; the rest of the filesystem is the machine's (with the repo's test keys).
    "  keyScanPaths: [/opt/cardano]",
    "  timeoutSeconds: 60",
    "  rolloutHealthTimeoutSeconds: 30",
    "",
  ].join("\n");
}

function labInventory(state: LabState): object {
  const bastion = labHost(state, "bastion");
  const azs = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
  const nodes = state.hosts.filter((h) => h.role !== "bastion");
  const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:000000000000:secret:sandstone/${name}-lab${state.id}`;
  const value = {
    pool: "sandstone",
    network: "preprod",
    region: "eu-west-1",
    bastion: { name: "bastion", role: "bastion", publicIp: bastion.address, privateIp: bastion.privateIp, instanceId: bastion.instanceId },
    hosts: nodes.map((h, i) => ({
      name: h.name,
      role: h.role,
      privateIp: h.privateIp,
      instanceId: h.instanceId,
      availabilityZone: azs[i % 3],
    })),
    secrets: {
      coldSigningKey: arn("cold/signing-key"),
      opcertCounter: arn("cold/opcert-counter"),
      kesSigningKey: arn("hot/kes-signing-key"),
      vrfSigningKey: arn("hot/vrf-signing-key"),
      opcert: arn("hot/opcert"),
    },
    parameters: { leader: "/sandstone/leader" },
  };
  // The shape `terraform output -json` prints, so the lab exercises the same parser as a real pool.
  return { inventory: { sensitive: false, type: ["object", {}], value } };
}

/** Brings a lab up. On failure everything made so far is removed again. */
export async function labUp(opts: LabUpOptions = {}): Promise<LabState> {
  const why = labUnavailableReason();
  if (why) throw new LabError(why);
  const id = opts.id ?? randomBytes(3).toString("hex");
  if (!/^[a-z0-9]{1,8}$/.test(id)) throw new LabError(`lab id ${JSON.stringify(id)}: expected 1-8 lowercase letters or digits`);
  const root = opts.root ?? DEFAULT_LAB_ROOT;
  const dir = join(root, id);
  if (existsSync(stateFile(dir))) throw new LabError(`lab ${id} already exists at ${dir}: npm run lab:down -- ${id}`);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const slot = claimSlot(id);
  const pub = `10.249.${slot}`;
  const priv = `10.248.${slot}`;
  const relays = opts.relays ?? 4;
  const names: Array<[string, LabRole, string]> = [["bastion", "bastion", `${priv}.1`]];
  for (let i = 1; i <= relays; i++) names.push([`relay-${i}`, "relay", `${priv}.${9 + i}`]);
  names.push(["producer-1", "producer", `${priv}.20`], ["producer-2", "producer", `${priv}.21`]);
  if (opts.sandbox) names.push(["sandbox", "sandbox", `${priv}.30`]);

  const hosts: LabHost[] = names.map(([name, role, privateIp]) => ({
    name,
    role,
    namespace: `pl-${id}-${name}`,
    address: role === "bastion" ? `${pub}.2` : privateIp,
    privateIp,
    link: role === "bastion" ? { namespace: null, device: `plab${slot}` } : { namespace: `pl-${id}-bastion`, device: `v-${name}` },
    dir: join(dir, "hosts", name),
    instanceId: instanceIdFor(id, name),
    sshdPid: 0,
  }));
  const state: LabState = {
    id,
    slot,
    dir,
    createdAt: new Date().toISOString(),
    operatorAddress: `${pub}.1`,
    publicCidr: `${pub}.0/30`,
    privateCidr: `${priv}.0/24`,
    operatorLink: `plab${slot}`,
    hosts,
    files: {
      inventory: join(dir, "inventory.json"),
      knownHosts: join(dir, "known_hosts"),
      identity: join(dir, "client", "id_ed25519"),
      poolConfig: join(dir, "pool.yaml"),
      env: join(dir, "env.sh"),
    },
  };
  saveState(state);
  try {
    await build(state, opts);
  } catch (error) {
    await labDown(state).catch(() => undefined);
    throw error;
  }
  return state;
}

async function build(state: LabState, opts: LabUpOptions): Promise<void> {
  const bastion = labHost(state, "bastion");
  const nodes = state.hosts.filter((h) => h.role !== "bastion");
  const pub = state.operatorAddress.replace(/\.1$/, "");

  // Network: namespaces first (recorded in state.json already, so a failure midway is cleaned up by labDown).
  for (const host of state.hosts) {
    ip("netns", "add", host.namespace);
    ip("-n", host.namespace, "link", "set", "lo", "up");
  }
  ip("link", "add", state.operatorLink, "type", "veth", "peer", "name", "eth0", "netns", bastion.namespace);
  ip("addr", "add", `${pub}.1/30`, "dev", state.operatorLink);
  ip("link", "set", state.operatorLink, "up");
  ip("-n", bastion.namespace, "addr", "add", `${pub}.2/30`, "dev", "eth0");
  ip("-n", bastion.namespace, "link", "set", "eth0", "up");
  ip("-n", bastion.namespace, "link", "add", "br0", "type", "bridge");
  ip("-n", bastion.namespace, "addr", "add", `${bastion.privateIp}/24`, "dev", "br0");
  ip("-n", bastion.namespace, "link", "set", "br0", "up");
  // The bastion must never route: only SSH forwarding reaches the private segment.
  nsExec(bastion.namespace, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0");
  for (const host of nodes) {
    ip("-n", bastion.namespace, "link", "add", host.link.device, "type", "veth", "peer", "name", "eth0", "netns", host.namespace);
    ip("-n", bastion.namespace, "link", "set", host.link.device, "master", "br0");
    ip("-n", bastion.namespace, "link", "set", host.link.device, "up");
    ip("-n", host.namespace, "addr", "add", `${host.privateIp}/24`, "dev", "eth0");
    ip("-n", host.namespace, "link", "set", "eth0", "up");
  }
  // A direct probe of a private address from the machine goes to the bastion (and dies there), not to the real network.
  ip("route", "add", state.privateCidr, "via", bastion.address, "dev", state.operatorLink);

  // Client key, host keys, accounts, sshd configs.
  const clientDir = join(state.dir, "client");
  mkdirSync(clientDir, { recursive: true });
  chmodSync(clientDir, 0o755);
  const client = ed25519KeyPair(state.files.identity, `pool-ops-lab-${state.id}`);
  const authorizedKeys = join(clientDir, "authorized_keys");
  writeFileSync(authorizedKeys, `${client.publicKey}\n`, { mode: 0o644 });
  chmodSync(authorizedKeys, 0o644);
  const hostsFile = state.hosts.map((h) => `${h.privateIp}\t${h.name}\n`).join("");
  if (!existsSync("/opt/cardano")) mkdirSync("/opt/cardano", { recursive: true }); // mount point only; stays empty
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const knownHosts: string[] = [];
  for (const host of state.hosts) {
    mkdirSync(join(host.dir, "opt-cardano", "lab"), { recursive: true });
    chmodSync(host.dir, 0o755);
    chownSync(join(host.dir, "opt-cardano"), LAB_NODE_UID, LAB_NODE_UID);
    writeAccounts(host.dir, host.name, hostsFile);
    const hostKey = join(host.dir, "ssh_host_ed25519_key");
    const { publicKey } = ed25519KeyPair(hostKey, `${host.name}@lab-${state.id}`);
    const [type, blob] = publicKey.split(" ");
    knownHosts.push(`${host.address} ${type} ${blob} ${host.name}`);
    writeFileSync(
      join(host.dir, "sshd_config"),
      render("sshd_config", {
        listenAddress: host.address,
        hostKey,
        pidFile: join(host.dir, "sshd.pid"),
        authorizedKeys,
        allowTcpForwarding: host.role === "bastion" ? "yes" : "no",
      }),
    );
  }
  await Promise.all(state.hosts.map((host) => startSshd(host)));

  // The service commands the lab's pool config names, and the files that tell the operator how to use the lab.
  mkdirSync(join(state.dir, "bin"), { recursive: true });
  const serviceScript = join(state.dir, "bin", "cardano-service");
  writeFileSync(
    serviceScript,
    render("cardano-service.sh", {
      node: process.execPath,
      tsxLoader: import.meta.resolve("tsx/esm"),
      standin: join(REPO_DIR, "lab", "node-standin.ts"),
      user: LAB_NODE_USER,
    }),
    { mode: 0o755 },
  );
  chmodSync(serviceScript, 0o755);
  chmodSync(join(state.dir, "bin"), 0o755);
  writeFileSync(state.files.knownHosts, `${knownHosts.join("\n")}\n`);
  writeFileSync(state.files.inventory, `${JSON.stringify(labInventory(state), null, 2)}\n`);
  writeFileSync(state.files.poolConfig, labPoolConfig(state, opts, client.publicKey));
  writeFileSync(
    state.files.env,
    [
      `# source this file to point pool-ops at lab ${state.id}`,
      `export POOL_CONFIG=${state.files.poolConfig}`,
      `export POOL_OPS_INVENTORY=${state.files.inventory}`,
      `export POOL_OPS_KNOWN_HOSTS=${state.files.knownHosts}`,
      `export POOL_OPS_IDENTITY=${state.files.identity}`,
      `export POOL_OPS_AUDIT_LOG=${join(state.dir, "audit.log")}`,
      "",
    ].join("\n"),
  );
  if (opts.operatorRttMs || opts.privateRttMs) setLatency(state, { operatorRttMs: opts.operatorRttMs ?? 0, privateRttMs: opts.privateRttMs ?? 0 });
  saveState(state);
}

function namespaceExists(namespace: string): boolean {
  return ip("netns", "list").split("\n").some((line) => line.split(" ")[0] === namespace);
}

/** The processes running in a network namespace. */
export function namespacePids(namespace: string): number[] {
  return ip("netns", "pids", namespace).split("\n").filter(Boolean).map(Number);
}

/** Removes a lab: every process in its namespaces, the namespaces (and with them its links), its slot and its dir. */
export async function labDown(stateOrId: LabState | string, options: { keepFiles?: boolean } = {}): Promise<void> {
  const state = typeof stateOrId === "string" ? loadLabState(stateOrId) : stateOrId;
  const problems: string[] = [];
  for (const host of state.hosts) {
    if (!namespaceExists(host.namespace)) continue;
    const pids = () => namespacePids(host.namespace);
    for (const pid of pids()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    try {
      await waitFor(`processes of ${host.namespace} to exit`, 5_000, () => pids().length === 0);
      ip("netns", "del", host.namespace);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  // Deleting the bastion's namespace deletes the veth (both ends) and the route through it; make sure.
  try {
    ip("link", "del", state.operatorLink);
  } catch {
    /* already gone with the namespace */
  }
  releaseSlot(state.slot);
  if (!options.keepFiles) rmSync(state.dir, { recursive: true, force: true });
  if (problems.length > 0) throw new LabError(`lab ${state.id} not fully removed:\n  ${problems.join("\n  ")}`);
}

/** How to use a lab, as printed by `npm run lab:up`. */
export function labUsage(state: LabState): string {
  const rel = (p: string) => p.replace(`${REPO_DIR}/`, "");
  return [
    `lab ${state.id} is up: bastion ${labHost(state, "bastion").address}, private segment ${state.privateCidr} (reachable only through the bastion)`,
    ...state.hosts.map((h) => `  ${h.name.padEnd(11)} ${h.address.padEnd(15)} netns ${h.namespace}`),
    "",
    "Use it:",
    `  source ${rel(state.files.env)}          # sets POOL_CONFIG, POOL_OPS_INVENTORY, POOL_OPS_KNOWN_HOSTS, POOL_OPS_IDENTITY`,
    "  npx pool-ops ping",
    "or with explicit flags:",
    `  npx pool-ops --config ${rel(state.files.poolConfig)} --inventory ${rel(state.files.inventory)} \\`,
    `      --known-hosts ${rel(state.files.knownHosts)} --identity ${rel(state.files.identity)} run --role relay -- uptime`,
    "plain OpenSSH works too:",
    `  K="-i ${rel(state.files.identity)} -o IdentitiesOnly=yes -o UserKnownHostsFile=${rel(state.files.knownHosts)}"`,
    `  ssh $K -o ProxyCommand="ssh $K -W %h:%p ${LAB_LOGIN_USER}@${labHost(state, "bastion").address}" ${LAB_LOGIN_USER}@${state.hosts[1]?.address}`,
    "",
    `Bring it down: npm run lab:down -- ${state.id}`,
  ].join("\n");
}
