/**
 * The lab: the pool the stacks describe, booted as real Debian 12 machines (systemd as PID 1, real cloud-init) on
 * this machine, with the lab's AWS (the emulator) acting as EC2, Secrets Manager and SSM for them.
 *
 *   labUp: base image (cached) → VPC namespaces → supervisor (emulator + hypervisor + VPC services) → synthesise the
 *          pool's stacks → deploy them (lab/deploy/fast-deploy.ts) → every machine boots from its own user data
 *          → the operator's known_hosts from each instance's console (as EC2's GetConsoleOutput shows it)
 *
 * What is real and what is a stand-in, host by host, is in the README's lab section. The differences from AWS are a
 * few named lab facts (lab/image/base-image.ts, lab/network/vpc.ts), never a second copy of a boot script: every
 * file on a machine was put there by its image, its user data, or pool-ops.
 *
 * Several labs coexist: each takes a slot (an atomic mkdir under /run/pool-ops-lab), which gives it its own VPC CIDR,
 * interface names and namespaces. Everything made is recorded in `<labDir>/state.json` and `machines.json`;
 * `labDown` removes exactly that, even after a crash.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { App } from "cdktf";
import { stringify as yamlStringify } from "yaml";
import { poolAddressPlan } from "../config/address-plan";
import { parsePoolConfigYaml } from "../config/load";
import type { PoolConfig } from "../config/schema";
import { hostKeysFromConsole } from "../ops/aws/console-host-keys";
import { buildPoolStacks } from "../stacks/pool-app";
import { emulatorAvailable } from "./aws-emulator";
import { deployFoundation, launchHosts, type DeployedHost } from "./deploy/fast-deploy";
import { baseImageUnavailableReason, ensureBaseImage } from "./image/base-image";
import { labCacheDir } from "./image/cache";
import { cdktfDeploy } from "./deploy/cdktf-deploy";
import { GoldenImageNotCached, labGoldenImage, type ReleasePin } from "./image/golden-image";
import { ensureGrafanaRepo } from "./image/grafana-repo";
import { labNodeRelease } from "./image/node-release";
import { labGenesisHashes } from "./release-fixtures";
import { ensureNodeExporterRelease } from "./image/node-exporter-release";
import { issueServerCertificate } from "./image/lab-ca";
import { releaseLoop, type HypervisorRecords } from "./machines/hypervisor";
import { machineInit, processAlive } from "./machines/machine";
import { addRouterAddress, createVpc, deleteNamespace, INTERNET_SERVICES_ADDRESS, LINK_LOCAL, namespaceExists, namespacePids, routeOperatorTo, type VpcNetwork } from "./network/vpc";
import { supervisorFiles, type SupervisorConfig, type SupervisorStatus } from "./supervisor-files";

export { processAlive } from "./machines/machine";
export { namespacePids } from "./network/vpc";

export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Where lab state dirs live: `<repo>/.lab/<id>/` unless LAB_ROOT says otherwise. */
export const DEFAULT_LAB_ROOT = process.env.LAB_ROOT ?? join(REPO_DIR, ".lab");
/** Machine-wide slot registry shared by every checkout, so labs of different worktrees never collide. */
const SLOT_REGISTRY = "/run/pool-ops-lab";
/** Slots give each lab its VPC CIDR 10.(100 + slot).0.0/16 and its operator link 10.249.slot.0/30. */
const MAX_SLOT = 150;
/** The lab's pool: the default pool's name, network and region. */
export const LAB_POOL = "sandstone";
const LAB_REGION = "eu-west-1";
const LAB_AZS = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
/** The login user of Debian's EC2 images, and the node's service account (the pool config's defaults). */
export const LAB_LOGIN_USER = "admin";
export const LAB_NODE_USER = "cardano";
/** The emulator's account id. */
const LAB_ACCOUNT = "123456789012";

export type LabRole = "bastion" | "relay" | "producer" | "sandbox" | "monitoring";

export interface LabHost {
  readonly name: string;
  readonly role: LabRole;
  readonly instanceId: string;
  /** The address pool-ops connects to: the bastion's (routed to the operator), a node's private address. */
  readonly address: string;
  readonly privateIp: string;
}

export interface LabState {
  readonly id: string;
  readonly slot: number;
  readonly dir: string;
  readonly createdAt: string;
  readonly vpcCidr: string;
  readonly vpcNamespace: string;
  readonly operatorLink: string;
  /** The lab's AWS: the emulator the supervisor runs (loopback). */
  awsEndpoint: string;
  supervisorPid: number;
  hosts: LabHost[];
  readonly files: {
    readonly inventory: string;
    readonly knownHosts: string;
    readonly identity: string;
    readonly poolConfig: string;
    readonly env: string;
    readonly synthDir: string;
  };
}

export interface LabUpOptions {
  /** Lab id: lowercase letters and digits, up to 8. @default random */
  readonly id?: string;
  /** @default DEFAULT_LAB_ROOT */
  readonly root?: string;
  /** @default 4 */
  readonly relays?: number;
  /** Add the golden-image sandbox (`sandbox.enabled`). @default false */
  readonly sandbox?: boolean;
  /** pool-ops SSH timeouts written to the lab's pool config (seconds). */
  readonly connectTimeoutSeconds?: number;
  readonly keepaliveIntervalSeconds?: number;
  readonly keepaliveCountMax?: number;
  /** Hosts not to launch at lab up (a test launches them itself). @default none */
  readonly withoutHosts?: readonly string[];
  /**
   * How the stacks reach the lab's AWS: `quick` makes what the hosts need through the APIs (seconds); `cdktf` runs
   * `npx cdktf deploy` of every stack (minutes), for tests that need Terraform's own state (image rollout).
   * @default "quick"
   */
  readonly deploy?: "quick" | "cdktf";
  /** Progress lines (lab:up prints them). */
  readonly log?: (line: string) => void;
}

export class LabError extends Error {
  override name = "LabError";
}

/** Why the lab cannot run here, or undefined when it can (root, namespaces, nspawn, debootstrap, the emulator). */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return "the lab needs Linux network namespaces";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "the lab needs root (namespaces, machines, loop devices): run as root";
  const image = baseImageUnavailableReason();
  if (image) return image;
  for (const [path, pkg] of [["/usr/bin/ssh-keygen", "openssh-client"], ["/usr/sbin/losetup", "mount"], ["/usr/bin/nsenter", "util-linux"]] as const) {
    if (!existsSync(path)) return `${path} is missing: apt-get install ${pkg}`;
  }
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "pipe" });
  } catch {
    return "`ip netns` is unavailable: apt-get install iproute2 (and a kernel with network namespaces)";
  }
  if (!emulatorAvailable()) return "python3 cannot import moto (the lab's AWS): pip install 'moto[server]'";
  return undefined;
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

async function waitFor(what: string, deadlineMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new LabError(`timed out after ${deadlineMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stateFile(dir: string): string {
  return join(dir, "state.json");
}

export function saveLabState(state: LabState): void {
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

export function labHost(state: LabState, name: string): LabHost {
  const host = state.hosts.find((h) => h.name === name);
  if (!host) throw new LabError(`lab ${state.id} has no host ${name} (hosts: ${state.hosts.map((h) => h.name).join(", ")})`);
  return host;
}

function ed25519KeyPair(path: string, comment: string): string {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
  return readFileSync(`${path}.pub`, "utf8").trim();
}

/** The lab's pool config: the default pool in the lab's VPC, with the lab operator's key; nothing about the node changed. */
export interface LabReleases {
  readonly nodeVersion: string;
  readonly node: ReleasePin;
  readonly exporter: ReleasePin & { readonly version: string };
}

export function labPoolConfigText(options: { vpcCidr: string; authorizedKey: string; relays: number; sandbox: boolean; awsEndpoint?: string; releases?: LabReleases; baseAmi?: string; stateDir?: string } & Pick<LabUpOptions, "connectTimeoutSeconds" | "keepaliveIntervalSeconds" | "keepaliveCountMax">): string {
  const doc = {
    name: LAB_POOL,
    network: "preprod",
    region: LAB_REGION,
    availabilityZones: LAB_AZS,
    vpc: { cidr: options.vpcCidr },
    relays: { count: options.relays },
    bastion: { adminCidrs: ["198.51.100.0/24"] },
    sandbox: { enabled: options.sandbox },
    // Lab fact (lab/release-fixtures.ts): the lab's release ships synthetic genesis files; the pool names their hashes.
    node: { genesisHashes: labGenesisHashes("preprod") },
    ssh: {
      authorizedKeys: [options.authorizedKey],
      connectTimeoutSeconds: options.connectTimeoutSeconds ?? 5,
      keepaliveIntervalSeconds: options.keepaliveIntervalSeconds ?? 1,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      commandTimeoutSeconds: 60,
    },
    image: {
      // A new or replaced instance's first boot (SSH answering, then synced): as long as the lab allows any first
      // boot (FIRST_BOOTS_DEADLINE_MS). At 120 s a new relay on 2 cores beside another lab "did not answer SSH".
      timeoutSeconds: FIRST_BOOTS_DEADLINE_MS / 1000,
      rolloutHealthTimeoutSeconds: FIRST_BOOTS_DEADLINE_MS / 1000,
      // The releases the lab's golden image is baked from: a stand-in cardano-node release, a real node_exporter.
      ...(options.releases
        ? {
            nodeReleases: { [options.releases.nodeVersion]: { file: options.releases.node.file, sha256: options.releases.node.sha256 } },
            nodeExporter: { version: options.releases.exporter.version, file: options.releases.exporter.file, sha256: options.releases.exporter.sha256 },
          }
        : {}),
    },
    ...(options.awsEndpoint ? { emulator: { endpoint: options.awsEndpoint, ...(options.baseAmi ? { amiId: options.baseAmi } : {}) } } : {}),
    ...(options.stateDir ? { backend: { type: "local", directory: options.stateDir } } : {}),
  };
  return `# Pool config of a lab (written by lab/lab.ts): the default pool in the lab's VPC, reached with the lab's key.\n${yamlStringify(doc)}`;
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
  // sshd on the machines never reads these files, but the operator's tools do: keep them traversable.
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const slot = claimSlot(id);
  const state: LabState = {
    id,
    slot,
    dir,
    createdAt: new Date().toISOString(),
    vpcCidr: `10.${100 + slot}.0.0/16`,
    vpcNamespace: `pl-${id}-vpc`,
    operatorLink: `plab${slot}`,
    awsEndpoint: "",
    supervisorPid: 0,
    hosts: [],
    files: {
      inventory: join(dir, "inventory.json"),
      knownHosts: join(dir, "known_hosts"),
      identity: join(dir, "client", "id_ed25519"),
      poolConfig: join(dir, "pool.yaml"),
      env: join(dir, "env.sh"),
      synthDir: join(dir, "cdktf.out"),
    },
  };
  saveLabState(state);
  try {
    await build(state, opts);
  } catch (error) {
    // What the lab's AWS and hypervisor said last, for a failure their API answers hide (a bare 500).
    const log = supervisorFiles(state.dir).log;
    const tail = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter((l) => !/HTTP\/1\.1" 200/.test(l)).slice(-25).join("\n") : "";
    // POOL_LAB_KEEP_FAILED=1 leaves a failed lab running to look at (npm run lab:down -- <id> removes it).
    if (!process.env.POOL_LAB_KEEP_FAILED) await labDown(state).catch(() => undefined);
    if (tail && error instanceof Error) error.message += `\n--- lab supervisor log (last lines) ---\n${tail}`;
    throw error;
  }
  return state;
}

async function build(state: LabState, opts: LabUpOptions): Promise<void> {
  const log = opts.log ?? (() => undefined);
  const image = await ensureBaseImage(log);
  const grafana = await ensureGrafanaRepo(log);
  const clientDir = join(state.dir, "client");
  mkdirSync(clientDir, { recursive: true, mode: 0o700 });
  const authorizedKey = ed25519KeyPair(state.files.identity, `pool-ops-lab-${state.id}`);
  const relays = opts.relays ?? 4;
  const sandbox = opts.sandbox ?? false;
  const configFor = (awsEndpoint?: string, releases?: LabReleases, extra: { baseAmi?: string; stateDir?: string } = {}) =>
    labPoolConfigText({ vpcCidr: state.vpcCidr, authorizedKey, relays, sandbox, awsEndpoint, releases, ...extra, ...opts });
  const draft = parsePoolConfigYaml(configFor(), "lab pool config");
  const plan = poolAddressPlan(draft);

  // The VPC: router namespace, a bridge per subnet, the endpoints' addresses in the producer subnets.
  const vpc: VpcNetwork = createVpc({ namespace: state.vpcNamespace, plan, operatorLink: state.operatorLink, operatorCidr30: `10.249.${state.slot}.0/30` });
  // The interface endpoints' ENIs, at the addresses the network stack pins them to: the lab answers there.
  for (const endpoint of plan.endpoints) addRouterAddress(vpc, plan.subnets.find((s) => s.id === endpoint.subnetId)!.cidr, endpoint.privateIp);
  const tls = issueServerCertificate(image.ca, join(state.dir, "tls"), [`*.${LAB_REGION}.amazonaws.com`, "*.amazonaws.com", "apt.grafana.com"]);
  const dns: Record<string, string[]> = {};
  // Private DNS on the endpoints: a service's name resolves to its ENIs' addresses.
  for (const service of draft.vpc.interfaceEndpoints) dns[`${service}.${LAB_REGION}.amazonaws.com`] = plan.endpoints.filter((e) => e.service === service).map((e) => e.privateIp);
  for (const name of ["cdn-aws.deb.debian.org", "deb.debian.org", "security.debian.org", "apt.grafana.com"]) dns[name] = [INTERNET_SERVICES_ADDRESS];

  // The supervisor: the lab's AWS and hypervisor, alive until labDown.
  const files = supervisorFiles(state.dir);
  mkdirSync(join(state.dir, "run"), { recursive: true });
  const supervisorConfig: SupervisorConfig = {
    labId: state.id,
    labDir: state.dir,
    poolName: LAB_POOL,
    vpc,
    vpcCidr: state.vpcCidr,
    subnets: plan.subnets.map((s) => ({ id: s.id, cidr: s.cidr })),
    baseLayers: [image.rootDir],
    packageCacheDir: join(labCacheDir(), "debian-archive"),
    services: {
      region: LAB_REGION,
      accountId: LAB_ACCOUNT,
      dns,
      // AWS names without an endpoint in the VPC resolve to their public endpoints: reachable with an internet route.
      dnsSuffixes: { ".amazonaws.com": [INTERNET_SERVICES_ADDRESS] },
      tls,
      metadataAddress: LINK_LOCAL.metadata,
      dnsAddress: LINK_LOCAL.dns,
      timeAddress: LINK_LOCAL.time,
      // Grafana's apt repository: the lab's signed stand-in with its stand-in package (lab/image/grafana-repo.ts).
      staticSites: { "apt.grafana.com": grafana.rootDir },
    },
  };
  writeFileSync(files.config, `${JSON.stringify(supervisorConfig, null, 2)}\n`);
  const out = openSync(files.log, "a");
  const supervisor = spawn(process.execPath, ["--import", import.meta.resolve("tsx/esm"), join(REPO_DIR, "lab", "supervisor.ts"), state.dir], {
    detached: true,
    stdio: ["ignore", out, out],
    cwd: REPO_DIR,
  });
  closeSync(out);
  supervisor.unref();
  state.supervisorPid = supervisor.pid ?? 0;
  saveLabState(state);
  await waitFor(`the lab's supervisor to start (log: ${files.log})`, 60_000, () => {
    if (!processAlive(state.supervisorPid)) throw new LabError(`the lab's supervisor exited at start:\n${readFileSync(files.log, "utf8").slice(-3000)}`);
    return existsSync(files.status);
  });
  const status = JSON.parse(readFileSync(files.status, "utf8")) as SupervisorStatus;
  state.awsEndpoint = status.awsEndpoint;
  saveLabState(state);

  // The releases pinned in the pool config (the golden image is baked from them), the stacks, the deploy.
  const releases: LabReleases = { nodeVersion: draft.node.version, node: await labNodeRelease(draft.node.version), exporter: await ensureNodeExporterRelease(log) };
  writeFileSync(state.files.poolConfig, configFor(state.awsEndpoint, releases));
  const config = parsePoolConfigYaml(readFileSync(state.files.poolConfig, "utf8"), state.files.poolConfig);
  if (opts.deploy === "cdktf") return buildWithCdktf(state, opts, { image, releases, configFor, vpc, log });
  synthesise(config, state.files.synthDir);
  const baseAmi = config.emulator!.amiId;
  const foundation = await deployFoundation(state.awsEndpoint, config, state.files.synthDir, { leader: "producer-1", goldenAmi: baseAmi });
  const wanted = (name: string) => !(opts.withoutHosts ?? []).includes(name);
  const deployed: DeployedHost[] = [];
  /** Launches hosts; resolves once the given ones (default: all launched now) have booted, then records their keys. */
  const launch = async (synthDir: string, names: readonly string[], ami: string, options: { from?: PoolConfig; waitFor?: readonly string[] } = {}) => {
    if (names.length === 0) return [];
    log(`launching ${names.join(", ")}`);
    const hosts = await launchHosts(state.awsEndpoint, options.from ?? config, synthDir, foundation, names, () => ami);
    deployed.push(...hosts);
    state.hosts = deployed.map((h) => ({ name: h.name, role: h.role as LabRole, instanceId: h.instanceId, address: h.privateIp, privateIp: h.privateIp }));
    saveLabState(state);
    await waitForBoots(state, hosts.filter((h) => (options.waitFor ?? names).includes(h.name)));
    return hosts;
  };

  // The hosts on the base image first, the bastion booted before anything else: a bake reaches the sandbox through it.
  // (The lab's own sandbox comes later: the golden image's bake, when it runs, uses a sandbox of its own first.)
  const baseHosts = plan.hosts.filter((h) => h.role === "bastion" || h.role === "monitoring").map((h) => h.name).filter(wanted);
  await launch(state.files.synthDir, baseHosts, baseAmi, { waitFor: baseHosts.filter((n) => n !== "monitoring") });
  await writeKnownHostsFromConsoles(state, config, (h) => h.role !== "monitoring");
  const bastion = deployed.find((h) => h.role === "bastion");
  if (!bastion) throw new LabError("the lab deployed no bastion");
  routeOperatorTo(vpc, state.vpcCidr, bastion.privateIp);
  writeInventory(state, deployed, foundation.secrets);

  // The golden image: baked once per machine (on this lab's sandbox, or one launched for the bake), then cached.
  const bakeSynthDir = join(state.dir, "cdktf.bake.out");
  const bakeConfigFile = join(state.dir, "pool-bake.yaml");
  const bakeInventory = join(state.dir, "inventory-bake.json");
  let bakeSandbox: DeployedHost | undefined;
  const golden = await labGoldenImage({
    repoDir: REPO_DIR,
    labDir: state.dir,
    awsEndpoint: state.awsEndpoint,
    region: config.region,
    poolName: config.name,
    baseImageKey: image.key,
    baseLayer: image.rootDir,
    nodeVersion: releases.nodeVersion,
    nodeRelease: releases.node,
    exporterRelease: releases.exporter,
    bakeConfigFile,
    bakeInventoryFile: bakeInventory,
    knownHostsFile: state.files.knownHosts,
    identityFile: state.files.identity,
    settings: { node: config.node, image: { ...config.image, nodeReleases: undefined, nodeExporter: undefined }, ssh: config.ssh.user },
    log,
    registerLayers: async (imageId, layers) => {
      if (!(await askSupervisor(state, { op: "register-image", imageId, layers }, 10_000))) throw new LabError("the lab's supervisor did not register the golden image");
    },
    launchSandbox: async () => {
      writeFileSync(bakeConfigFile, configFor(state.awsEndpoint, releases).replace(/sandbox:\n  enabled: false/, "sandbox:\n  enabled: true"));
      const bakeConfig = parsePoolConfigYaml(readFileSync(bakeConfigFile, "utf8"), bakeConfigFile);
      if (!bakeSandbox) {
        synthesise(bakeConfig, bakeSynthDir);
        [bakeSandbox] = await launch(bakeSynthDir, ["sandbox"], baseAmi, { from: bakeConfig });
        await writeKnownHostsFromConsoles(state, config, (h) => h.role !== "monitoring");
      }
      writeInventoryFile(bakeInventory, deployed, foundation.secrets);
      return bakeSandbox!.instanceId;
    },
  });
  // The sandbox launched for the bake goes again, as an operator turns sandbox.enabled off after baking.
  if (bakeSandbox) {
    await terminate(state, config, bakeSandbox.instanceId);
    deployed.splice(deployed.indexOf(bakeSandbox), 1);
    state.hosts = state.hosts.filter((h) => h.instanceId !== bakeSandbox!.instanceId);
  }

  // Relays and producers from their golden image, the sandbox (when the lab has one) from the base image, as the
  // nodes stack launches them; then every host booted (the monitoring host's packages meanwhile).
  await launch(state.files.synthDir, plan.hosts.filter((h) => h.role === "relay" || h.role === "producer").map((h) => h.name).filter(wanted), golden);
  if (sandbox && wanted("sandbox")) await launch(state.files.synthDir, ["sandbox"], baseAmi);
  await waitForBoots(state, deployed);
  await writeKnownHostsFromConsoles(state, config);
  writeInventory(state, deployed, foundation.secrets);
  writeEnvFile(state);
  saveLabState(state);
}

interface BuildContext {
  readonly image: Awaited<ReturnType<typeof ensureBaseImage>>;
  readonly releases: LabReleases;
  readonly configFor: (awsEndpoint?: string, releases?: LabReleases, extra?: { baseAmi?: string; stateDir?: string }) => string;
  readonly vpc: VpcNetwork;
  readonly log: (line: string) => void;
}

/**
 * The lab deployed by `npx cdktf deploy` (lab/deploy/cdktf-deploy.ts): every instance from the golden image (the
 * emulator's base image id is the golden AMI), Terraform's state in the lab's dir. The golden image must be cached;
 * when it is not, a lab of the quick kind bakes it first (and is removed again).
 */
async function buildWithCdktf(state: LabState, opts: LabUpOptions, ctx: BuildContext): Promise<void> {
  const draft = parsePoolConfigYaml(ctx.configFor(state.awsEndpoint, ctx.releases), "lab pool config");
  const goldenInputs = {
    repoDir: REPO_DIR,
    labDir: state.dir,
    awsEndpoint: state.awsEndpoint,
    region: draft.region,
    poolName: draft.name,
    baseImageKey: ctx.image.key,
    baseLayer: ctx.image.rootDir,
    nodeVersion: ctx.releases.nodeVersion,
    nodeRelease: ctx.releases.node,
    exporterRelease: ctx.releases.exporter,
    bakeConfigFile: join(state.dir, "pool-bake.yaml"),
    bakeInventoryFile: join(state.dir, "inventory-bake.json"),
    knownHostsFile: state.files.knownHosts,
    identityFile: state.files.identity,
    settings: { node: draft.node, image: { ...draft.image, nodeReleases: undefined, nodeExporter: undefined }, ssh: draft.ssh.user },
    log: ctx.log,
    recordParameters: false,
    registerLayers: async (imageId: string, layers: readonly string[]) => {
      if (!(await askSupervisor(state, { op: "register-image", imageId, layers }, 10_000))) throw new LabError("the lab's supervisor did not register the golden image");
    },
    launchSandbox: async (): Promise<string> => {
      throw new GoldenImageNotCached("no golden image is cached for this lab's recipe");
    },
  };
  let golden: string;
  try {
    golden = await labGoldenImage(goldenInputs);
  } catch (error) {
    if (!(error instanceof GoldenImageNotCached)) throw error;
    ctx.log("golden image: none cached yet; a quick lab bakes it first");
    await labDown(await labUp({ id: `${state.id.slice(0, 7)}g`, relays: 2, withoutHosts: ["monitoring"], log: ctx.log }));
    golden = await labGoldenImage(goldenInputs);
  }
  writeFileSync(state.files.poolConfig, ctx.configFor(state.awsEndpoint, ctx.releases, { baseAmi: golden, stateDir: join(state.dir, "terraform-state") }));
  const config = parsePoolConfigYaml(readFileSync(state.files.poolConfig, "utf8"), state.files.poolConfig);
  const deployed = await cdktfDeploy({ repoDir: REPO_DIR, labDir: state.dir, poolConfigFile: state.files.poolConfig, synthDir: state.files.synthDir, config, endpoint: state.awsEndpoint, log: ctx.log });
  const bastion = deployed.hosts.find((h) => h.role === "bastion");
  if (!bastion) throw new LabError("cdktf deploy made no bastion");
  routeOperatorTo(ctx.vpc, state.vpcCidr, bastion.privateIp);
  state.hosts = deployed.hosts.map((h) => ({ name: h.name, role: h.role as LabRole, instanceId: h.instanceId, address: h.privateIp, privateIp: h.privateIp }));
  saveLabState(state);
  // Lab fact: the operator reaches the bastion at its private address (the lab does not route Elastic IPs).
  const value = { ...deployed.inventory.value, bastion: { ...deployed.inventory.value.bastion, publicIp: bastion.privateIp } };
  writeFileSync(state.files.inventory, `${JSON.stringify({ inventory: { sensitive: false, type: ["object", {}], value } }, null, 2)}\n`);
  await waitForBoots(state, deployed.hosts);
  await writeKnownHostsFromConsoles(state, config);
  writeEnvFile(state);
  saveLabState(state);
}

function writeEnvFile(state: LabState): void {
  writeFileSync(
    state.files.env,
    [
      `# source this file to point pool-ops at lab ${state.id}`,
      `export POOL_CONFIG=${state.files.poolConfig}`,
      `export POOL_OPS_INVENTORY=${state.files.inventory}`,
      `export POOL_OPS_KNOWN_HOSTS=${state.files.knownHosts}`,
      `export POOL_OPS_IDENTITY=${state.files.identity}`,
      `export POOL_OPS_AUDIT_LOG=${join(state.dir, "audit.log")}`,
      `export POOL_LAB_AWS_ENDPOINT=${state.awsEndpoint}`,
      "",
    ].join("\n"),
  );
}

function synthesise(config: PoolConfig, outdir: string): void {
  const app = new App({ outdir });
  buildPoolStacks(app, config);
  app.synth();
}

async function terminate(state: LabState, config: PoolConfig, instanceId: string): Promise<void> {
  const { EC2Client, TerminateInstancesCommand } = await import("@aws-sdk/client-ec2");
  const { awsClientSettings } = await import("../ops/aws/client-config");
  const ec2 = new EC2Client(awsClientSettings({ region: config.region, endpoint: state.awsEndpoint }));
  try {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  } finally {
    ec2.destroy();
  }
}

function writeInventory(state: LabState, deployed: readonly DeployedHost[], secrets: Readonly<Record<string, string>>): void {
  writeInventoryFile(state.files.inventory, deployed, secrets);
}

function writeInventoryFile(file: string, deployed: readonly DeployedHost[], secrets: Readonly<Record<string, string>>): void {
  writeFileSync(file, `${JSON.stringify(labInventory(deployed, secrets), null, 2)}\n`);
}

function hypervisorRecords(state: LabState): HypervisorRecords | undefined {
  const file = join(state.dir, "machines.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as HypervisorRecords) : undefined;
}

/** The container init of a running lab machine (its /proc/<pid>/root is the machine's filesystem). */
export function machineInitPid(state: LabState, hostName: string): number {
  const host = labHost(state, hostName);
  const record = hypervisorRecords(state)?.instances[host.instanceId];
  if (!record || record.state !== "running" || !record.nspawnPid || !processAlive(record.nspawnPid)) throw new LabError(`${hostName} (${host.instanceId}) is not running`);
  const init = machineInit(record.nspawnPid);
  if (!init) throw new LabError(`${hostName}: its machine's init has not started`);
  return init;
}

/** A path inside a running lab machine (absolute symlinks inside it resolve against this machine's root: name real paths). */
export function machinePath(state: LabState, hostName: string, path: string): string {
  return `/proc/${machineInitPid(state, hostName)}/root${path.startsWith("/") ? path : `/${path}`}`;
}

/** cloud-init's verdict on a machine's boot: done (with any errors), or not yet. */
function cloudInitResult(state: LabState, hostName: string): { done: boolean; errors: string[] } {
  let path: string;
  try {
    path = machinePath(state, hostName, "/run/cloud-init/result.json");
  } catch {
    return { done: false, errors: [] };
  }
  if (!existsSync(path)) return { done: false, errors: [] };
  try {
    const result = JSON.parse(readFileSync(path, "utf8")) as { v1?: { errors?: string[] } };
    return { done: true, errors: result.v1?.errors ?? [] };
  } catch {
    return { done: false, errors: [] };
  }
}

/** Where cloud-init is in a machine's boot (its status.json), for a boot that takes too long. */
function cloudInitStage(state: LabState, hostName: string): string {
  try {
    const status = JSON.parse(readFileSync(machinePath(state, hostName, "/run/cloud-init/status.json"), "utf8")) as { v1?: { stage?: string | null } };
    return status.v1?.stage ? `in its ${status.v1.stage} stage` : "between stages";
  } catch {
    return "not started (the machine is still booting)";
  }
}

/**
 * First boots of every machine the lab launched together: on 2 cores, with another lab booting or baking beside it, the
 * golden image's nodes have taken more than 3 minutes.
 */
const FIRST_BOOTS_DEADLINE_MS = 300_000;

async function waitForBoots(state: LabState, hosts: readonly DeployedHost[]): Promise<void> {
  const until = Date.now() + FIRST_BOOTS_DEADLINE_MS;
  for (;;) {
    const pending = hosts.filter((h) => !cloudInitResult(state, h.name).done);
    if (pending.length === 0) break;
    if (Date.now() > until) {
      throw new LabError(`timed out after ${FIRST_BOOTS_DEADLINE_MS / 1000} s waiting for cloud-init to finish: ${pending.map((h) => `${h.name} ${cloudInitStage(state, h.name)}`).join("; ")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const failed = hosts.map((h) => ({ host: h.name, errors: cloudInitResult(state, h.name).errors })).filter((r) => r.errors.length > 0);
  if (failed.length > 0) {
    // What the failed commands printed (cloud-init's output log, which EC2 also shows on the console).
    const outputTail = (host: string) => {
      try {
        return readFileSync(machinePath(state, host, "/var/log/cloud-init-output.log"), "utf8").trim().split("\n").slice(-15).map((l) => `      ${l}`).join("\n");
      } catch {
        return "      (no cloud-init output log)";
      }
    };
    throw new LabError(`cloud-init reported errors (as it would on EC2):\n${failed.map((f) => `  ${f.host}: ${f.errors.join("; ")}\n${outputTail(f.host)}`).join("\n")}`);
  }
}

/** known_hosts from each instance's console (cloud-init prints the new host keys there; EC2 serves it authenticated). */
async function writeKnownHostsFromConsoles(state: LabState, config: PoolConfig, which: (host: LabHost) => boolean = () => true): Promise<void> {
  const { EC2Client, GetConsoleOutputCommand } = await import("@aws-sdk/client-ec2");
  const { awsClientSettings } = await import("../ops/aws/client-config");
  const ec2 = new EC2Client(awsClientSettings({ region: config.region, endpoint: state.awsEndpoint }));
  try {
    const lines: string[] = [];
    for (const host of state.hosts.filter(which)) {
      const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: host.instanceId }));
      const keys = hostKeysFromConsole(Buffer.from(out.Output ?? "", "base64").toString("utf8"));
      if (keys.length === 0) throw new LabError(`${host.name}: its console shows no SSH host keys (cloud-init did not print them)`);
      for (const key of keys) lines.push(`${host.address} ${key.keyType} ${key.key.toString("base64")} ${host.name}`);
    }
    writeFileSync(state.files.knownHosts, `${lines.join("\n")}\n`);
  } finally {
    ec2.destroy();
  }
}

/** The nodes stack's `inventory` output, as `terraform output -json` prints it (the monitoring host is not in it). */
function labInventory(deployed: readonly DeployedHost[], secrets: Readonly<Record<string, string>>): object {
  const entry = (h: DeployedHost) => ({ name: h.name, role: h.role, privateIp: h.privateIp, publicIp: h.role === "bastion" ? h.privateIp : "", instanceId: h.instanceId, availabilityZone: h.availabilityZone });
  const bastion = deployed.find((h) => h.role === "bastion")!;
  const value = {
    pool: LAB_POOL,
    network: "preprod",
    region: LAB_REGION,
    bastion: entry(bastion),
    hosts: deployed.filter((h) => h.role !== "bastion" && h.role !== "monitoring").map(entry),
    secrets,
    parameters: { leader: `/${LAB_POOL}/leader` },
  };
  // The shape `terraform output -json` prints, so the lab exercises the same parser as a real pool.
  return { inventory: { sensitive: false, type: ["object", {}], value } };
}

/** Makes the lab's AWS unreachable from the operator's machine (pool-ops), or reachable again. */
export async function setOperatorAwsReachable(state: LabState, reachable: boolean): Promise<void> {
  if (!(await askSupervisor(state, { op: reachable ? "aws-restored" : "aws-outage" }, 5_000))) throw new LabError(`lab ${state.id}: its supervisor did not answer`);
}

export async function askSupervisor(state: LabState, op: object, timeoutMs: number): Promise<boolean> {
  const socket = supervisorFiles(state.dir).control;
  if (!existsSync(socket)) return false;
  return new Promise((resolve) => {
    const client = connect(socket);
    const timer = setTimeout(() => {
      client.destroy();
      resolve(false);
    }, timeoutMs);
    client.on("connect", () => client.write(`${JSON.stringify(op)}\n`));
    client.on("data", () => {
      clearTimeout(timer);
      client.end();
      resolve(true);
    });
    client.on("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Removes a lab: its machines, supervisor, namespaces, loop devices, links, slot and (unless kept) its files. */
export async function labDown(stateOrId: LabState | string, options: { keepFiles?: boolean } = {}): Promise<void> {
  const state = typeof stateOrId === "string" ? loadLabState(stateOrId) : stateOrId;
  const problems: string[] = [];
  if (state.supervisorPid && processAlive(state.supervisorPid)) {
    await askSupervisor(state, { op: "shutdown" }, 5_000);
    await waitFor("the lab's supervisor to stop its machines", 60_000, () => !processAlive(state.supervisorPid)).catch(() => {
      try {
        process.kill(state.supervisorPid, "SIGKILL");
      } catch {
        /* gone */
      }
    });
  }
  const records = hypervisorRecords(state);
  for (const record of Object.values(records?.instances ?? {})) {
    if (record.nspawnPid && processAlive(record.nspawnPid)) {
      try {
        process.kill(record.nspawnPid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
  const namespaces = [...Object.values(records?.instances ?? {}).map((r) => r.namespace), state.vpcNamespace];
  for (const namespace of namespaces) {
    if (!namespaceExists(namespace)) continue;
    for (const pid of namespacePids(namespace)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    try {
      await waitFor(`processes of ${namespace} to exit`, 10_000, () => namespacePids(namespace).length === 0);
      deleteNamespace(namespace);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  for (const volume of Object.values(records?.volumes ?? {})) {
    if (volume.loopDevice) releaseLoop(volume.loopDevice);
    // A loop device set up but not recorded (a crash in between) is found by its backing file.
    try {
      for (const line of execFileSync("losetup", ["-j", volume.file], { encoding: "utf8" }).split("\n").filter(Boolean)) releaseLoop(line.split(":")[0]!);
    } catch {
      /* no such file */
    }
  }
  try {
    execFileSync("ip", ["link", "del", state.operatorLink], { stdio: "ignore" });
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
  const bastion = labHost(state, "bastion");
  return [
    `lab ${state.id} is up: VPC ${state.vpcCidr}, bastion ${bastion.address} (the only host the machine reaches), AWS at ${state.awsEndpoint}`,
    ...state.hosts.map((h) => `  ${h.name.padEnd(11)} ${h.address.padEnd(15)} ${h.instanceId}`),
    "",
    "Use it:",
    `  source ${rel(state.files.env)}          # sets POOL_CONFIG, POOL_OPS_INVENTORY, POOL_OPS_KNOWN_HOSTS, POOL_OPS_IDENTITY`,
    "  npx pool-ops ping",
    "plain OpenSSH works too:",
    `  K="-i ${rel(state.files.identity)} -o IdentitiesOnly=yes -o UserKnownHostsFile=${rel(state.files.knownHosts)}"`,
    `  ssh $K -J ${LAB_LOGIN_USER}@${bastion.address} ${LAB_LOGIN_USER}@${state.hosts.find((h) => h.role === "relay")?.address}`,
    "",
    `Bring it down: npm run lab:down -- ${state.id}`,
  ].join("\n");
}
