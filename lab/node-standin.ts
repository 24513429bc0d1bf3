/**
 * The lab's stand-in for cardano-node (test tooling). It is started, stopped and reloaded the way a real host's
 * service is (lab/templates/cardano-service.sh, named by the lab pool config's `node.service.*`), accepts
 * cardano-node's `run` flags, reads the config and topology, and on a producer the KES key, VRF key and op cert it is
 * pointed at. It does not sync a chain: it reports what a node would about itself, with cardano-node's metric names.
 *
 *   node-standin run --pid-file FILE --config F --topology F --database-path D --socket-path S [--host-addr A]
 *                    [--port P] [--shelley-kes-key F --shelley-vrf-key F --shelley-operational-certificate F]
 *                    [--non-producing-node | --start-as-non-producing-node]
 *
 * Behaviour (cardano-node facts it mimics: docs/field-notes "Cardano formats and rules"):
 * - Slot from the wall clock and the network's genesis (network from the config's ShelleyGenesisFile magic, else
 *   the config's `LabNetwork`, else preprod), so KES periods are the real ones.
 * - Forging needs all three credential files, valid: the op cert's signature verifies against the cold vk inside it,
 *   the KES key's vk is the cert's, and the current KES period is in [start, start + 62). At start: files missing →
 *   runs non-producing (dynamic block forging); invalid → exits 1 (a node with an expired KES key crash-loops).
 * - SIGHUP (as cardano-node ≥ 8.7.2): re-reads the topology and the credentials. Missing → forging off; invalid or
 *   mismatched → keeps the old ones and logs why; valid → forges with the new ones.
 * - Metrics on the config's `hasPrometheus` [host, port] (or a `PrometheusSimple … HOST PORT` backend), default
 *   127.0.0.1:12798 like the node's new tracing system: slotNum, blockNum, epoch, currentKESPeriod,
 *   remainingKESPeriods, operationalCertificateStartKESPeriod / ExpiryKESPeriod, forging_enabled, Forge counters,
 *   connectedPeers, and lab-only `cardano_node_lab_reloads_counter`, `cardano_node_lab_opcert_counter_int`.
 *
 * Fault injection: files in the lab dir (`<home>/lab/`, i.e. /opt/cardano/lab on a lab host; LAB_FAULT_DIR overrides):
 * - `refuse-credentials`: every credential check fails ("refused by lab fault injection").
 * - `slot-lag`: a number N: the node reports a tip N slots behind the wall clock (not synced).
 * - `metrics-down`: the metrics endpoint answers 503.
 * - `crash-on-reload`: the next SIGHUP makes the node exit 1 (as a crash would).
 */
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer, type Server } from "node:net";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { NETWORKS, type CardanoNetwork, type NetworkGenesis } from "../config/networks";
import { bytesToHex, equalBytes } from "../ops/cardano/bytes";
import { kesVerificationKey, readKesSigningKey } from "../ops/cardano/kes";
import { kesPeriodAt, slotAt } from "../ops/cardano/kes-period";
import { readOperationalCertificate, verifyOperationalCertificate, type OperationalCertificate } from "../ops/cardano/opcert";
import { readVrfSigningKey } from "../ops/cardano/vrf";

export interface CredentialPaths {
  readonly kesKey: string;
  readonly vrfKey: string;
  readonly opcert: string;
}

export interface Credentials {
  readonly opcert: OperationalCertificate;
  readonly kesVerificationKeyHex: string;
}

export type CredentialCheck =
  | { readonly kind: "valid"; readonly credentials: Credentials }
  | { readonly kind: "missing"; readonly reason: string }
  | { readonly kind: "invalid"; readonly reason: string };

/** Checks the three forging files as the node would before forging with them. Pure except for reading the files. */
export function checkCredentials(paths: CredentialPaths, now: Date, network: CardanoNetwork, faultDir?: string): CredentialCheck {
  const missing = Object.values(paths).filter((p) => !existsSync(p));
  if (missing.length > 0) return { kind: "missing", reason: `missing ${missing.join(", ")}` };
  if (faultDir && existsSync(join(faultDir, "refuse-credentials"))) return { kind: "invalid", reason: "refused by lab fault injection (refuse-credentials)" };
  try {
    const opcert = readOperationalCertificate(readFileSync(paths.opcert, "utf8"), paths.opcert);
    if (!verifyOperationalCertificate(opcert)) return { kind: "invalid", reason: `${paths.opcert}: op cert signature does not verify against its cold key` };
    const kesSk = readKesSigningKey(readFileSync(paths.kesKey, "utf8"), paths.kesKey);
    const kesVk = kesVerificationKey(kesSk, paths.kesKey);
    kesSk.fill(0);
    if (!equalBytes(kesVk, opcert.kesVerificationKey)) return { kind: "invalid", reason: `${paths.kesKey}: KES key does not match the op cert's KES verification key` };
    readVrfSigningKey(readFileSync(paths.vrfKey, "utf8"), paths.vrfKey).fill(0);
    const current = kesPeriodAt(now, network);
    const max = NETWORKS[network].maxKESEvolutions;
    if (current < opcert.kesPeriod) return { kind: "invalid", reason: `op cert starts at KES period ${opcert.kesPeriod}, after the current period ${current}` };
    if (current >= opcert.kesPeriod + max) return { kind: "invalid", reason: `op cert expired: KES period ${current} is past ${opcert.kesPeriod} + ${max}` };
    return { kind: "valid", credentials: { opcert, kesVerificationKeyHex: bytesToHex(kesVk) } };
  } catch (error) {
    return { kind: "invalid", reason: (error as Error).message };
  }
}

/** Peers named by a topology file: P2P (localRoots, publicRoots, bootstrapPeers) or the legacy `Producers` list. */
export function topologyPeers(text: string, source: string): string[] {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${source}: not JSON: ${(error as Error).message}`);
  }
  const peers: string[] = [];
  const add = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const p of list) if (p && typeof p === "object" && "address" in p) peers.push(`${(p as { address: string }).address}:${(p as { port?: number }).port ?? 3001}`);
  };
  for (const group of [...((doc.localRoots as unknown[]) ?? []), ...((doc.publicRoots as unknown[]) ?? [])]) add((group as { accessPoints?: unknown }).accessPoints);
  add(doc.bootstrapPeers);
  add(doc.Producers);
  if (!("localRoots" in doc) && !("Producers" in doc) && !("bootstrapPeers" in doc) && !("publicRoots" in doc)) {
    throw new Error(`${source}: not a topology (expected localRoots/publicRoots/bootstrapPeers, or Producers)`);
  }
  return peers;
}

export interface NodeState {
  readonly network: CardanoNetwork;
  readonly startedAt: Date;
  forging: boolean;
  credentials: Credentials | undefined;
  peers: string[];
  reloads: number;
  forged: number;
  leader: number;
  lastForgeSlot: number;
}

/** The epoch of a slot: Byron epochs are 21600 slots (k = 2160), Shelley ones `epochLength`. */
export function epochOfSlot(slot: number, genesis: NetworkGenesis): number {
  const byronEpochs = genesis.shelleyStartSlot / 21_600;
  return byronEpochs + Math.floor((slot - genesis.shelleyStartSlot) / genesis.epochLength);
}

/** Prometheus text exposition with cardano-node's metric names. */
export function renderMetrics(state: NodeState, now: Date, slotLag = 0): string {
  const genesis = NETWORKS[state.network];
  const slot = slotAt(now, state.network) - slotLag;
  const kesPeriod = Math.floor(slot / genesis.slotsPerKESPeriod);
  const lines: [string, string, number][] = [
    ["cardano_node_metrics_slotNum_int", "gauge", slot],
    // No chain here: about one block every 20 slots (active slot coefficient 0.05).
    ["cardano_node_metrics_blockNum_int", "gauge", Math.floor(slot / 20)],
    ["cardano_node_metrics_epoch_int", "gauge", epochOfSlot(slot, genesis)],
    ["cardano_node_metrics_slotInEpoch_int", "gauge", (slot - genesis.shelleyStartSlot) % genesis.epochLength],
    ["cardano_node_metrics_currentKESPeriod_int", "gauge", kesPeriod],
    ["cardano_node_metrics_forging_enabled_int", "gauge", state.forging ? 1 : 0],
    ["cardano_node_metrics_Forge_node_is_leader_counter", "counter", state.leader],
    ["cardano_node_metrics_Forge_forged_counter", "counter", state.forged],
    ["cardano_node_metrics_Forge_adopted_counter", "counter", state.forged],
    ["cardano_node_metrics_connectedPeers_int", "gauge", state.peers.length],
    ["cardano_node_metrics_peers_int", "gauge", state.peers.length],
    ["cardano_node_metrics_nodeStartTime_int", "gauge", Math.floor(state.startedAt.getTime() / 1000)],
    ["cardano_node_lab_reloads_counter", "counter", state.reloads],
  ];
  const cert = state.credentials?.opcert;
  if (cert) {
    const expiry = cert.kesPeriod + genesis.maxKESEvolutions;
    lines.push(
      ["cardano_node_metrics_operationalCertificateStartKESPeriod_int", "gauge", cert.kesPeriod],
      ["cardano_node_metrics_operationalCertificateExpiryKESPeriod_int", "gauge", expiry],
      ["cardano_node_metrics_remainingKESPeriods_int", "gauge", Math.max(0, expiry - kesPeriod)],
      ["cardano_node_lab_opcert_counter_int", "gauge", cert.counter],
    );
  }
  return lines.map(([name, type, value]) => `# TYPE ${name} ${type}\n${name} ${value}`).join("\n") + "\n";
}

function log(level: "info" | "warn" | "error", message: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), sev: level, msg: message, ...extra })}\n`);
}

/** Where the config says metrics go: `hasPrometheus: [host, port]` or a `PrometheusSimple [suffix] HOST PORT` backend. */
export function metricsEndpoint(config: Record<string, unknown>): { host: string; port: number } {
  const has = config.hasPrometheus;
  if (Array.isArray(has) && typeof has[0] === "string" && typeof has[1] === "number") return { host: has[0], port: has[1] };
  const text = JSON.stringify(config.TraceOptions ?? {});
  const simple = /PrometheusSimple(?: suffix)? ([0-9.]+) (\d+)/.exec(text);
  if (simple) return { host: simple[1]!, port: Number(simple[2]) };
  return { host: "127.0.0.1", port: 12798 };
}

function networkOf(config: Record<string, unknown>, configPath: string): CardanoNetwork {
  const genesisFile = config.ShelleyGenesisFile;
  if (typeof genesisFile === "string") {
    const path = isAbsolute(genesisFile) ? genesisFile : resolve(dirname(configPath), genesisFile);
    if (existsSync(path)) {
      const magic = (JSON.parse(readFileSync(path, "utf8")) as { networkMagic?: number }).networkMagic;
      const found = (Object.keys(NETWORKS) as CardanoNetwork[]).find((n) => NETWORKS[n].networkMagic === magic);
      if (found) return found;
    }
  }
  const named = config.LabNetwork;
  if (typeof named === "string" && named in NETWORKS) return named as CardanoNetwork;
  return "preprod";
}

async function run(argv: string[]): Promise<void> {
  const args = argv[0] === "run" ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args: args[0] === "run" ? args.slice(1) : args,
    options: {
      "pid-file": { type: "string" },
      config: { type: "string" },
      topology: { type: "string" },
      "database-path": { type: "string" },
      "socket-path": { type: "string" },
      "host-addr": { type: "string" },
      "host-ipv6-addr": { type: "string" },
      port: { type: "string" },
      "shelley-kes-key": { type: "string" },
      "shelley-vrf-key": { type: "string" },
      "shelley-operational-certificate": { type: "string" },
      "non-producing-node": { type: "boolean" },
      "start-as-non-producing-node": { type: "boolean" },
    },
    strict: true,
  });
  const need = (name: "config" | "topology" | "database-path" | "socket-path"): string => {
    const v = values[name];
    if (!v) throw new Error(`Missing: --${name} (cardano-node run requires it)`);
    return v;
  };
  const configPath = need("config");
  const topologyPath = need("topology");
  const config = parseYaml(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  const network = networkOf(config, configPath);
  const faultDir = process.env.LAB_FAULT_DIR ?? join(dirname(dirname(resolve(configPath))), "lab");
  const fault = (name: string) => existsSync(join(faultDir, name));
  const credentialFlags = [values["shelley-kes-key"], values["shelley-vrf-key"], values["shelley-operational-certificate"]];
  const paths: CredentialPaths | undefined = credentialFlags.every(Boolean)
    ? { kesKey: credentialFlags[0]!, vrfKey: credentialFlags[1]!, opcert: credentialFlags[2]! }
    : undefined;
  if (!paths && credentialFlags.some(Boolean)) throw new Error("a producer needs all of --shelley-kes-key, --shelley-vrf-key and --shelley-operational-certificate");
  const startNonProducing = Boolean(values["non-producing-node"] || values["start-as-non-producing-node"]);

  const state: NodeState = {
    network,
    startedAt: new Date(),
    forging: false,
    credentials: undefined,
    peers: topologyPeers(readFileSync(topologyPath, "utf8"), topologyPath),
    reloads: 0,
    forged: 0,
    leader: 0,
    lastForgeSlot: 0,
  };
  if (paths) {
    const check = checkCredentials(paths, new Date(), network, faultDir);
    if (check.kind === "invalid") throw new Error(`cannot forge: ${check.reason}`);
    if (check.kind === "valid") {
      state.credentials = check.credentials;
      state.forging = !startNonProducing;
    } else log("warn", `starting non-producing: ${check.reason}`);
  }
  mkdirSync(need("database-path"), { recursive: true });
  const socketPath = need("socket-path");
  rmSync(socketPath, { force: true });
  mkdirSync(dirname(socketPath), { recursive: true });
  const socket: Server = createNetServer((c) => c.end());
  await new Promise<void>((r) => socket.listen(socketPath, r));

  const { host, port } = metricsEndpoint(config);
  const metrics = createHttpServer((req, res) => {
    if (fault("metrics-down")) {
      res.writeHead(503).end("metrics down (lab fault injection)\n");
      return;
    }
    let lag = 0;
    if (fault("slot-lag")) lag = Number(readFileSync(join(faultDir, "slot-lag"), "utf8").trim()) || 0;
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(renderMetrics(state, new Date(), lag));
  });
  await new Promise<void>((r, reject) => {
    metrics.once("error", reject);
    metrics.listen(port, host, r);
  });

  const tick = setInterval(() => {
    if (!state.forging) return;
    const slot = slotAt(new Date(), network);
    // A leader slot about every 20 slots, as with active slot coefficient 0.05.
    if (slot !== state.lastForgeSlot && slot % 20 === 0) {
      state.lastForgeSlot = slot;
      state.leader++;
      state.forged++;
    }
  }, 250);

  process.on("SIGHUP", () => {
    state.reloads++;
    if (fault("crash-on-reload")) {
      log("error", "crashed on SIGHUP (lab fault injection: crash-on-reload)");
      process.exit(1);
    }
    try {
      state.peers = topologyPeers(readFileSync(topologyPath, "utf8"), topologyPath);
      log("info", "topology re-read", { peers: state.peers.length });
    } catch (error) {
      log("error", `topology not re-read, keeping the old one: ${(error as Error).message}`);
    }
    if (!paths) return;
    const check = checkCredentials(paths, new Date(), network, faultDir);
    if (check.kind === "missing") {
      state.forging = false;
      log("warn", `forging disabled: ${check.reason}`);
    } else if (check.kind === "invalid") {
      log("error", `new credentials refused, keeping the old ones: ${check.reason}`, { forging: state.forging });
    } else {
      state.credentials = check.credentials;
      state.forging = true;
      log("info", "forging with the credentials re-read", { counter: check.credentials.opcert.counter, kesPeriod: check.credentials.opcert.kesPeriod });
    }
  });
  const stop = () => {
    clearInterval(tick);
    metrics.close();
    socket.close();
    rmSync(socketPath, { force: true });
    if (values["pid-file"]) rmSync(values["pid-file"], { force: true });
    log("info", "stopped");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);

  if (values["pid-file"]) writeFileSync(values["pid-file"], `${process.pid}\n`);
  log("info", "started", { network, forging: state.forging, peers: state.peers.length, metrics: `${host}:${port}`, hostAddr: values["host-addr"], port: values.port });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run(process.argv.slice(2)).catch((error: unknown) => {
    log("error", (error as Error).message);
    process.stderr.write(`cardano-node (lab stand-in): ${(error as Error).message}\n`);
    process.exit(1);
  });
}
