/**
 * Every file a node host runs with, rendered from the pool config and the inventory: `config.json`, the P2P
 * `topology.json`, the systemd unit and its environment file (NODE_ARGS by role: render/node-args.ts), plus the
 * operator's extra files. Pure: no SSH, no AWS. push-config writes these over SSH; boot writes the same at first boot.
 *
 * Topology rules: a producer lists only its own relays (local roots, trustable), no public roots, no ledger peers;
 * a relay lists both producers (trustable) and the other relays as local roots, the network's bootstrap peers, and
 * uses ledger peers after the network's slot.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { hostLayout } from "../config/host-layout";
import type { PoolConfig } from "../config/schema";
import { NETWORK_NODE_DATA } from "./network-data";
import { nodeEnvironmentFile, type NodeMode } from "./node-args";

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

/** A host as rendering needs it (the inventory's shape). */
export interface RenderHost {
  readonly name: string;
  readonly role: string;
  readonly privateIp: string;
}

export class RenderError extends Error {
  override name = "RenderError";
}

export interface RenderOptions {
  /** Which producer forges (the SSM leader record). */
  readonly leader: string;
  /** Directory the pool config was read from (extra files are relative to it). */
  readonly configDir?: string;
}

function addressOf(config: PoolConfig, host: RenderHost): string {
  return config.topology.addresses[host.name] ?? host.privateIp;
}

export function renderTopology(config: PoolConfig, hosts: readonly RenderHost[], host: RenderHost): object {
  const port = config.relays.port;
  const known = new Set(hosts.map((h) => h.name));
  for (const name of Object.keys(config.topology.addresses)) {
    if (!known.has(name)) throw new RenderError(`topology.addresses.${name}: no such host in the inventory (expected one of ${[...known].join(", ")})`);
  }
  const relays = hosts.filter((h) => h.role === "relay");
  const producers = hosts.filter((h) => h.role === "producer");
  const point = (h: RenderHost) => ({ address: addressOf(config, h), port });
  if (host.role === "producer") {
    return {
      localRoots: [{ accessPoints: relays.map(point), advertise: false, trustable: true, valency: relays.length }],
      publicRoots: [],
      useLedgerAfterSlot: -1,
    };
  }
  const others = relays.filter((r) => r.name !== host.name);
  const data = NETWORK_NODE_DATA[config.network];
  return {
    bootstrapPeers: data.bootstrapPeers,
    localRoots: [
      { accessPoints: producers.map(point), advertise: false, trustable: true, valency: producers.length },
      ...(others.length > 0 ? [{ accessPoints: others.map(point), advertise: false, trustable: false, valency: others.length }] : []),
    ],
    publicRoots: [],
    useLedgerAfterSlot: data.useLedgerAfterSlot,
  };
}

export function renderNodeConfig(config: PoolConfig, host: RenderHost): object {
  const data = NETWORK_NODE_DATA[config.network];
  const metricsHost = host.privateIp;
  const metricsPort = config.node.metricsPort;
  return {
    Protocol: "Cardano",
    RequiresNetworkMagic: data.requiresNetworkMagic,
    ByronGenesisFile: "byron-genesis.json",
    ByronGenesisHash: data.genesisHashes.Byron,
    ShelleyGenesisFile: "shelley-genesis.json",
    ShelleyGenesisHash: data.genesisHashes.Shelley,
    AlonzoGenesisFile: "alonzo-genesis.json",
    AlonzoGenesisHash: data.genesisHashes.Alonzo,
    ConwayGenesisFile: "conway-genesis.json",
    ConwayGenesisHash: data.genesisHashes.Conway,
    EnableP2P: true,
    // Producers never share their peers (their relays' addresses would leak through them).
    PeerSharing: host.role !== "producer",
    TargetNumberOfActivePeers: host.role === "producer" ? 10 : 20,
    TargetNumberOfEstablishedPeers: host.role === "producer" ? 10 : 40,
    TargetNumberOfKnownPeers: host.role === "producer" ? 10 : 100,
    TargetNumberOfRootPeers: host.role === "producer" ? 10 : 60,
    // Metrics on the private address, where only the monitoring host's security group may reach them (legacy
    // tracing reads hasPrometheus; the new tracing system the PrometheusSimple backend).
    hasPrometheus: [metricsHost, metricsPort],
    UseTraceDispatcher: true,
    TraceOptions: {
      "": {
        severity: "Notice",
        detail: "DNormal",
        backends: ["Stdout MachineFormat", "EKGBackend", `PrometheusSimple suffix ${metricsHost} ${metricsPort}`],
      },
      "Forge.Loop": { severity: "Info" },
      "Startup.DiffusionInit": { severity: "Info" },
    },
  };
}

/** The unit file, from the template kept in render/systemd/. */
export function renderUnit(config: PoolConfig, host: RenderHost, mode: NodeMode): string {
  const layout = hostLayout(config);
  const template = readFileSync(new URL("./systemd/cardano-node.service", import.meta.url), "utf8");
  const values: Record<string, string> = {
    role: mode,
    host: host.name,
    pool: config.name,
    mountUnit: `${layout.database.replace(/^\//, "").replace(/\//g, "-")}.mount`,
    database: layout.database,
    user: config.node.user,
    group: config.node.group,
    environmentFile: layout.environmentFile,
    nodeBinary: `${config.node.binDir}/cardano-node`,
  };
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new RenderError(`render/systemd/cardano-node.service: unknown placeholder {{${key}}}`);
    return value;
  });
}

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
          files.set(target, { path: target, content: readFileSync(path, "utf8"), mode: 0o644, owner: config.node.user, group: config.node.group, effect: "reload" });
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

/** Every file of a node host (relay or producer). */
export function renderNodeFiles(config: PoolConfig, hosts: readonly RenderHost[], host: RenderHost, options: RenderOptions): NodeFile[] {
  if (host.role !== "relay" && host.role !== "producer") throw new RenderError(`${host.name}: only relays and producers run cardano-node (role ${host.role})`);
  const producers = hosts.filter((h) => h.role === "producer").map((h) => h.name);
  if (!producers.includes(options.leader)) throw new RenderError(`leader ${options.leader} is not a producer (expected one of ${producers.join(", ")})`);
  const layout = hostLayout(config);
  const mode: NodeMode = host.role === "relay" ? "relay" : host.name === options.leader ? "leader" : "standby";
  const owned = { owner: config.node.user, group: config.node.group };
  const files: NodeFile[] = [
    { path: layout.nodeConfig, content: json(renderNodeConfig(config, host)), mode: 0o644, ...owned, effect: "restart" },
    { path: layout.topology, content: json(renderTopology(config, hosts, host)), mode: 0o644, ...owned, effect: "reload" },
    { path: layout.environmentFile, content: nodeEnvironmentFile(config, mode, { hostAddr: "0.0.0.0" }), mode: 0o640, ...owned, effect: "restart" },
    { path: layout.unitFile, content: renderUnit(config, host, mode), mode: 0o644, owner: "root", group: "root", effect: "restart" },
    ...extraFiles(config, host, options.configDir),
  ];
  validateNodeFiles(config, hosts, files);
  return files;
}

/** Refuses files a node could not run with: JSON must parse, topology may name only known hosts or public peers. */
export function validateNodeFiles(config: PoolConfig, hosts: readonly RenderHost[], files: readonly NodeFile[]): void {
  const layout = hostLayout(config);
  const allowed = new Set([...hosts.map((h) => addressOf(config, h)), ...NETWORK_NODE_DATA[config.network].bootstrapPeers.map((p) => p.address)]);
  for (const file of files.filter((f) => f.path.endsWith(".json"))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(file.content);
    } catch (error) {
      throw new RenderError(`${file.path}: not valid JSON (${(error as Error).message})`);
    }
    if (file.path !== layout.topology) continue;
    const topology = parsed as { localRoots?: { accessPoints: { address: string; port: unknown }[] }[]; bootstrapPeers?: { address: string; port: unknown }[] };
    const points = [...(topology.localRoots ?? []).flatMap((g) => g.accessPoints), ...(topology.bootstrapPeers ?? [])];
    for (const p of points) {
      if (!Number.isInteger(p.port) || (p.port as number) < 1 || (p.port as number) > 65535) throw new RenderError(`${file.path}: port ${JSON.stringify(p.port)} of ${p.address} is not a TCP port`);
      if (!allowed.has(p.address)) throw new RenderError(`${file.path}: ${p.address} is not a host of this pool nor a bootstrap peer`);
    }
  }
}

