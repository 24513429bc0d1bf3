/**
 * The lab's stand-in for cardano-node (test tooling): a model of the node, not a convenience. It takes the node's
 * `run` command line, refuses at startup what the node refuses (config keys of its version line, genesis files and
 * hashes, topology, database marker, credential files and the VRF key's mode), models the startup (ledger replay)
 * phase and what a SIGHUP does before and after it, forges on the wall clock's slots and reports cardano-node's
 * metric names. It does not sync a chain. Every behaviour has a row in lab/node-standin.md citing the upstream file
 * and function it models, and a test in lab/node-standin.test.ts.
 *
 *   cardano-node run --config F --topology F --database-path D --socket-path S [--host-addr A] [--port P]
 *                    [--shelley-kes-key F --shelley-vrf-key F --shelley-operational-certificate F]
 *                    [--start-as-non-producing-node] [--pid-file F (lab only)]
 *
 * The version it models: POOL_LAB_NODE_VERSION (the lab release's bin/cardano-node sets it), else the pool default.
 * Lab-only fault files in the lab dir (`<node home>/lab/`, found from the config's path; LAB_FAULT_DIR overrides):
 * `startup-seconds` (N: the replay lasts N seconds), `refuse-credentials`, `slot-lag` (N slots behind),
 * `metrics-down` (503), `crash-on-reload` (the next SIGHUP exits 1), `forging-gauge-stuck` (forging_enabled reads 1).
 */
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer, type Server } from "node:net";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { NETWORKS } from "../config/networks";
import { DEFAULTS } from "../config/schema";
import { slotAt } from "../ops/cardano/kes-period";
import { poolIdHex } from "../ops/cardano/pool-id";
import { renderMetrics, type NodeState } from "./node-standin-metrics";
import { checkCredentials, checkDatabase, checkVrfMode, NodeRefusal, readStandinConfig, readStandinTopology, type CredentialPaths } from "./node-standin-model";

export { checkCredentials } from "./node-standin-model";

function log(level: "info" | "warn" | "error", message: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), sev: level, msg: message, ...extra })}\n`);
}

export async function runStandin(argv: string[]): Promise<void> {
  const args = argv[0] === "run" ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
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
    if (!v) throw new NodeRefusal(`Missing: --${name} (cardano-node run requires it)`);
    return v;
  };
  const version = process.env.POOL_LAB_NODE_VERSION ?? DEFAULTS.nodeVersion;
  const configPath = resolve(need("config"));
  const topologyPath = resolve(need("topology"));
  const faultDir = process.env.LAB_FAULT_DIR ?? join(dirname(dirname(configPath)), "lab");
  const fault = (name: string) => existsSync(join(faultDir, name));
  const faultNumber = (name: string) => (fault(name) ? Number(readFileSync(join(faultDir, name), "utf8").trim()) || 0 : 0);
  if (values["non-producing-node"]) log("warn", "DEPRECATED, use --start-as-non-producing-node instead");

  // ---- startup checks, in the node's order (Run.hs runNode) ----------------------------------------------------
  const config = readStandinConfig(configPath, version);
  const network = config.network;
  const flags = [values["shelley-kes-key"], values["shelley-vrf-key"], values["shelley-operational-certificate"]];
  if (flags.some(Boolean) && !flags.every(Boolean)) throw new NodeRefusal("a producer needs all of --shelley-kes-key, --shelley-vrf-key and --shelley-operational-certificate");
  const paths: CredentialPaths | undefined = flags.every(Boolean) ? { kesKey: flags[0]!, vrfKey: flags[1]!, opcert: flags[2]! } : undefined;
  const startNonProducing = Boolean(values["non-producing-node"] || values["start-as-non-producing-node"]);
  const refuse = () => (fault("refuse-credentials") ? "refused by lab fault injection (refuse-credentials)" : undefined);
  let credentials;
  if (paths) {
    if (!existsSync(paths.vrfKey)) throw new NodeRefusal(`${paths.vrfKey}: getFileStatus: does not exist (No such file or directory)`);
    const warning = checkVrfMode(paths.vrfKey);
    if (warning) log("warn", warning);
    const check = checkCredentials(paths, new Date(), network, refuse());
    // The files are read at startup, non-producing or not: a missing or invalid one stops the node.
    if (check.kind !== "valid") throw new NodeRefusal(`cannot read the forging credentials: ${check.reason}`);
    credentials = check.credentials;
  }
  const peers = readStandinTopology(topologyPath);
  const database = need("database-path");
  mkdirSync(database, { recursive: true });
  checkDatabase(database, NETWORKS[network].networkMagic);

  const startedAsProducer = Boolean(credentials) && !startNonProducing;
  const state: NodeState = {
    network,
    startedAt: new Date(),
    startupDone: false,
    forging: false,
    // The initial BlockForgingUpdate announces what the node will do, before its replay ends.
    forgingGauge: startedAsProducer ? 1 : 0,
    credentials,
    peers,
    reloads: 0,
    aboutToLead: 0,
    leader: 0,
    forged: 0,
    couldNotForge: 0,
    lastForgeSlot: 0,
  };

  const socketPath = need("socket-path");
  rmSync(socketPath, { force: true });
  mkdirSync(dirname(socketPath), { recursive: true });
  const socket: Server = createNetServer((c) => {
    // The lab's cardano-cli asks one line, e.g. "protocol-state"; answered only once the node has started.
    c.once("data", (data) => {
      const ask = data.toString().trim();
      if (!state.startupDone) return c.end(`${JSON.stringify({ error: "the node is still starting" })}\n`);
      const slot = slotAt(new Date(), network);
      if (ask === "tip") return c.end(`${JSON.stringify({ slot, block: Math.floor(slot / 20), epoch: 0, syncProgress: "100.00" })}\n`);
      if (ask === "protocol-state") {
        // The chain knows a pool's counter once a block made with its cert was adopted.
        const cert = state.credentials?.opcert;
        const counters = cert && state.forged > 0 ? { [poolIdHex(cert.coldVerificationKey)]: cert.counter } : {};
        return c.end(`${JSON.stringify({ lastSlot: slot, oCertCounters: counters })}\n`);
      }
      return c.end(`${JSON.stringify({ error: `unknown query ${ask}` })}\n`);
    });
  });
  await new Promise<void>((r) => socket.listen(socketPath, r));

  let metrics: ReturnType<typeof createHttpServer> | undefined;
  if (config.prometheus) {
    const { host, port, suffix } = config.prometheus;
    metrics = createHttpServer((_req, res) => {
      if (fault("metrics-down")) return void res.writeHead(503).end("metrics down (lab fault injection)\n");
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(renderMetrics(state, new Date(), { suffix, slotLag: faultNumber("slot-lag"), gaugeStuckAtOne: fault("forging-gauge-stuck") }));
    });
    await new Promise<void>((r, reject) => {
      metrics!.once("error", reject);
      metrics!.listen(port, host, r);
    });
  } else log("warn", "no PrometheusSimple backend in TraceOptions: no metrics served");

  const finishStartup = () => {
    state.startupDone = true;
    // rnNodeKernelHook: forging is set only now, and only on a node not started as non-producing.
    if (startedAsProducer) state.forging = true;
    state.forgingGauge = state.forging ? 1 : 0;
    log("info", "startup done", { forging: state.forging });
  };
  const startupMs = faultNumber("startup-seconds") * 1000;
  const startupTimer = startupMs > 0 ? setTimeout(finishStartup, startupMs) : undefined;
  if (!startupTimer) finishStartup();

  const tick = setInterval(() => {
    if (!state.forging || !state.credentials) return;
    const slot = slotAt(new Date(), network);
    if (slot === state.lastForgeSlot) return;
    state.lastForgeSlot = slot;
    state.aboutToLead++;
    // A leader slot about every 20 slots, as with active slot coefficient 0.05.
    if (slot % 20 !== 0) return;
    state.leader++;
    if (state.credentials.expired) state.couldNotForge++;
    else state.forged++;
  }, 200);

  process.on("SIGHUP", () => {
    state.reloads++;
    if (fault("crash-on-reload")) {
      log("error", "crashed on SIGHUP (lab fault injection: crash-on-reload)");
      process.exit(1);
    }
    try {
      state.peers = readStandinTopology(topologyPath);
      log("info", "topology re-read", { peers: state.peers.length });
    } catch (error) {
      log("error", `topology not re-read, keeping the old one: ${(error as Error).message}`);
    }
    if (!state.startupDone) {
      // The initial SIGHUP handler: topology only; BlockForgingUpdate NotEffective (the gauge reads 0).
      state.forgingGauge = 0;
      log("info", "BlockForgingUpdate NotEffective: the node has not finished starting");
      return;
    }
    if (!paths) {
      // No credential flags: the protocol has no forging credentials to re-read.
      state.forging = false;
      state.forgingGauge = 0;
      log("info", "BlockForgingUpdate DisabledBlockForging (no credentials on the command line)");
      return;
    }
    const check = checkCredentials(paths, new Date(), network, refuse());
    if (check.kind === "missing") {
      state.forging = false;
      state.forgingGauge = 0;
      log("warn", `BlockForgingUpdate DisabledBlockForging: ${check.reason}`);
    } else if (check.kind === "invalid") {
      log("error", `BlockForgingUpdateError, keeping the old credentials: ${check.reason}`, { forging: state.forging });
    } else {
      state.credentials = check.credentials;
      state.forging = true;
      state.forgingGauge = 1;
      log("info", "BlockForgingUpdate EnabledBlockForging", { counter: check.credentials.opcert.counter, kesPeriod: check.credentials.opcert.kesPeriod });
    }
  });
  const stop = () => {
    clearInterval(tick);
    if (startupTimer) clearTimeout(startupTimer);
    metrics?.close();
    socket.close();
    rmSync(socketPath, { force: true });
    if (values["pid-file"]) rmSync(values["pid-file"], { force: true });
    log("info", "stopped");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);

  if (values["pid-file"]) writeFileSync(values["pid-file"], `${process.pid}\n`);
  log("info", "started", { version, network, producer: Boolean(paths), startNonProducing, peers: state.peers.length, metrics: config.prometheus ?? null, startupMs });
}

function isMain(): boolean {
  const entry = process.argv[1];
  return Boolean(entry) && (import.meta.url === `file://${entry}` || process.env.POOL_LAB_STANDIN_MAIN === "1");
}

if (isMain()) {
  runStandin(process.argv.slice(2)).catch((error: unknown) => {
    log("error", (error as Error).message);
    process.stderr.write(`cardano-node (lab stand-in): ${(error as Error).message}\n`);
    process.exit(1);
  });
}
