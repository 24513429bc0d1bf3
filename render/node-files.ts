/**
 * Every file a node host runs with, from the pool config, the inventory and the host's installed release
 * (render/release-files.ts): `config.json` and the P2P `topology.json` (the release's, plus the pool's overlay:
 * render/node-config.ts, render/topology.ts), the systemd unit and its environment file (NODE_ARGS by mode:
 * render/node-args.ts), the boot inputs every boot composes from (config/host-layout.ts `bootDir`), plus the
 * operator's extra files. Pure: no SSH, no AWS. push-config writes these over SSH.
 *
 * At first boot there is no release to read yet on the operator's side: `renderBootNodeFiles` gives the boot inputs
 * and the unit, and the host composes its own config and topology from its release (stacks/boot/node-boot.sh).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { hostLayout, nodeFileModes } from "../config/host-layout";
import type { PoolConfig } from "../config/schema";
import type { JsonObject } from "./json-merge";
import { nodeEnvironmentFile, type NodeMode } from "./node-args";
import { nodeConfigOverlay, RenderError, renderNodeConfig, type RenderHost } from "./node-config";
import type { ReleaseNodeFiles } from "./release-files";
import { addressOf, renderTopology, topologyOverlay } from "./topology";

export { RenderError, type RenderHost } from "./node-config";

/** What a changed file needs the node to do: re-read it on SIGHUP, restart, or nothing. */
export type FileEffect = "reload" | "restart" | "none";

export interface NodeFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
  readonly owner: string;
  readonly group: string;
  readonly effect: FileEffect;
}

export interface RenderOptions {
  /** Which producer forges (the SSM leader record). */
  readonly leader: string;
  /** The node files of the host's installed release (ops/pool/release-facts.ts read them). */
  readonly release: ReleaseNodeFiles;
  /** Directory the pool config was read from (extra files are relative to it). */
  readonly configDir?: string;
}

/**
 * The unit file, from the template kept in render/systemd/.
 *
 * Its confinement (systemd.exec(5)): the node writes only its database and its socket directory (`ReadWritePaths`
 * under `ProtectSystem=strict`); it reads its config, topology and keys (root's, readable by its group:
 * config/host-layout.ts `nodeFileModes`) and the release's files; it talks TCP to peers and Prometheus and serves a
 * Unix socket (`RestrictAddressFamilies`); it needs no capability. System calls: only groups no node makes are
 * denied, with an error rather than a kill (an allow-list such as @system-service could deny the LSM ledger backend's
 * io_uring block I/O, or GHC's NUMA and affinity calls in @resources). Left out on purpose: MemoryDenyWriteExecute
 * (code generated at run time, as GHC's adjustors and the lab stand-in's V8 need), PrivateUsers (the keys'
 * ownership), ProcSubset=pid (the node's resource tracing reads /proc), PrivateNetwork and IPAddressDeny (peers are
 * anywhere).
 *
 * The template's comments stay in the repository: the host's unit gets one line naming the template instead, since
 * the unit travels in every node's user data (EC2 takes 16 KiB) and cloud-init and push-config must write the same text.
 */
export function renderUnit(config: PoolConfig, host: RenderHost): string {
  const layout = hostLayout(config);
  const template = readFileSync(new URL("./systemd/cardano-node.service", import.meta.url), "utf8");
  const values: Record<string, string> = {
    role: host.role,
    host: host.name,
    pool: config.name,
    chainMount: layout.chainMount,
    database: layout.database,
    socketDir: layout.socketDir,
    user: config.node.user,
    group: config.node.group,
    environmentFile: layout.environmentFile,
    nodeBinary: `${config.node.binDir}/cardano-node`,
  };
  const rendered = template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new RenderError(`render/systemd/cardano-node.service: unknown placeholder {{${key}}}`);
    return value;
  });
  const directives = rendered.split("\n").filter((line) => !line.startsWith("#"));
  return [UNIT_HEADER, ...directives].join("\n");
}

/** The host unit's only comment: where each of its lines is explained. */
const UNIT_HEADER = "# Rendered by pool-ops from the pool config; render/systemd/cardano-node.service in its repository says why each line.";

/** Extra files kept by the operator, for a role and for a host (host files win). */
export function extraFiles(config: PoolConfig, host: RenderHost, configDir: string | undefined): NodeFile[] {
  if (!config.pushConfig.extraFilesDir) return [];
  const base = isAbsolute(config.pushConfig.extraFilesDir) ? config.pushConfig.extraFilesDir : resolve(configDir ?? ".", config.pushConfig.extraFilesDir);
  if (!existsSync(base)) throw new RenderError(`pushConfig.extraFilesDir: ${base} does not exist`);
  const files = new Map<string, NodeFile>();
  for (const dir of [join(base, "role", host.role), join(base, "host", host.name)]) {
    const walk = (d: string) => {
      if (!existsSync(d)) return;
      for (const entry of readdirSync(d)) {
        const path = join(d, entry);
        if (statSync(path).isDirectory()) walk(path);
        else {
          const target = `/${relative(dir, path)}`;
          // Root's and readable by all, as before (an extra file may be for more than the node: a motd): read-only to
          // the node, as everything it reads (config/host-layout.ts nodeFileModes).
          files.set(target, { path: target, content: readFileSync(path, "utf8"), owner: "root", group: "root", mode: 0o644, effect: "reload" });
        }
      }
    };
    walk(dir);
  }
  return [...files.values()];
}

function json(value: object): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function checkNodeHost(host: RenderHost): void {
  if (host.role !== "relay" && host.role !== "producer") throw new RenderError(`${host.name}: only relays and producers run cardano-node (role ${host.role})`);
}

/** The modes a host can run in: a relay's one, or a producer's two. */
function modesOf(host: RenderHost): NodeMode[] {
  return host.role === "relay" ? ["relay"] : ["leader", "standby"];
}

/**
 * The boot inputs (overlays and per-mode environment files, root-owned: only root writes what the node will run) and
 * the unit. What cloud-init writes at first boot, and what push-config keeps current.
 */
export function renderBootNodeFiles(config: PoolConfig, hosts: readonly RenderHost[], host: RenderHost): NodeFile[] {
  checkNodeHost(host);
  const layout = hostLayout(config);
  const root = { owner: "root", group: "root", mode: 0o644, effect: "none" as const };
  return [
    { path: `${layout.bootDir}/config.overlay.json`, content: json(nodeConfigOverlay(config, host)), ...root },
    { path: `${layout.bootDir}/topology.overlay.json`, content: json(topologyOverlay(config, hosts, host)), ...root },
    ...modesOf(host).map((mode) => ({ path: `${layout.bootDir}/env.${mode}`, content: nodeEnvironmentFile(config, mode, { hostAddr: "0.0.0.0" }), ...root })),
    { path: layout.unitFile, content: renderUnit(config, host), mode: 0o644, owner: "root", group: "root", effect: "restart" },
  ];
}

/** Every file of a node host (relay or producer), with the host's release read. */
export function renderNodeFiles(config: PoolConfig, hosts: readonly RenderHost[], host: RenderHost, options: RenderOptions): NodeFile[] {
  checkNodeHost(host);
  const producers = hosts.filter((h) => h.role === "producer").map((h) => h.name);
  if (!producers.includes(options.leader)) throw new RenderError(`leader ${options.leader} is not a producer (expected one of ${producers.join(", ")})`);
  const layout = hostLayout(config);
  const mode: NodeMode = host.role === "relay" ? "relay" : host.name === options.leader ? "leader" : "standby";
  // Root's, readable by the node's group (config/host-layout.ts `nodeFileModes`): the node cannot change what it runs
  // with, its own command line (the environment file) included.
  const readOnly = nodeFileModes(config).readOnlyFile;
  const files: NodeFile[] = [
    { path: layout.nodeConfig, content: json(renderNodeConfig(config, host, options.release)), ...readOnly, effect: "restart" },
    { path: layout.topology, content: json(renderTopology(config, hosts, host, options.release)), ...readOnly, effect: "reload" },
    { path: layout.environmentFile, content: nodeEnvironmentFile(config, mode, { hostAddr: "0.0.0.0" }), ...readOnly, effect: "restart" },
    ...renderBootNodeFiles(config, hosts, host),
    ...extraFiles(config, host, options.configDir),
  ];
  validateNodeFiles(config, hosts, files);
  return files;
}

/** Refuses files a node could not run with: JSON must parse, the pool's own roots may name only its hosts. */
export function validateNodeFiles(config: PoolConfig, hosts: readonly RenderHost[], files: readonly NodeFile[]): void {
  const layout = hostLayout(config);
  const allowed = new Set(hosts.map((h) => addressOf(config, h)));
  for (const file of files.filter((f) => f.path.endsWith(".json"))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(file.content);
    } catch (error) {
      throw new RenderError(`${file.path}: not valid JSON (${(error as Error).message})`);
    }
    if (file.path !== layout.topology) continue;
    const topology = parsed as { localRoots?: { accessPoints: { address: string; port: unknown }[] }[]; bootstrapPeers?: { address: string; port: unknown }[] | null };
    for (const p of (topology.localRoots ?? []).flatMap((g) => g.accessPoints)) {
      if (!Number.isInteger(p.port) || (p.port as number) < 1 || (p.port as number) > 65535) throw new RenderError(`${file.path}: port ${JSON.stringify(p.port)} of ${p.address} is not a TCP port`);
      if (!allowed.has(p.address)) throw new RenderError(`${file.path}: local root ${p.address} is not a host of this pool`);
    }
  }
}

/** Two versions of a file the same for the node? JSON files compare by value (the boot writes them with Python). */
export function sameContent(path: string, a: string, b: string): boolean {
  if (a === b) return true;
  if (!path.endsWith(".json")) return false;
  try {
    return canonical(JSON.parse(a) as JsonObject) === canonical(JSON.parse(b) as JsonObject);
  } catch {
    return false;
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  return JSON.stringify(value);
}
