/**
 * The node stand-in against its conformance table (lab/node-standin.md): each test starts the stand-in the way
 * systemd starts cardano-node (`cardano-node run $NODE_ARGS`) on temp files, and checks it refuses what the node
 * refuses and does what the node does. No lab needed. A test here fails if the stand-in is made lenient again.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { CardanoNetwork } from "../config/networks";
import { generateColdKey, generateKesKey, generateVrfKey, issueOperationalCertificate, kesPeriodAt, writeKesSigningKey, writeOperationalCertificate, writeVrfSigningKey } from "../ops/cardano";
import { parseMetrics, metricValue } from "../ops/pool/node-metrics";
import { composeNodeFile, type JsonObject } from "../render/json-merge";
import { writeReleaseShare, type ShareFilesOptions } from "./release-fixtures";
import { freePort } from "../test/support";

const STANDIN = join(import.meta.dirname, "node-standin.ts");
const TSX = import.meta.resolve("tsx/esm");
const roots: string[] = [];
const children: ChildProcess[] = [];


interface HostOptions {
  readonly version?: string;
  /** @default "preprod" */
  readonly network?: CardanoNetwork;
  readonly share?: ShareFilesOptions;
  readonly backends?: string[] | ((port: number) => string[]);
  readonly topology?: JsonObject;
  readonly faults?: Record<string, string>;
  readonly kesPeriodOffset?: number;
}

/** A node host's files in a temp dir: the release's share, the composed config, topology, keys, the lab dir. */
async function host(options: HostOptions = {}) {
  const root = mkdtempSync(join(tmpdir(), "standin-"));
  roots.push(root);
  const version = options.version ?? "11.1.3";
  const network = options.network ?? "preprod";
  const share = writeReleaseShare(join(root, "share"), network, version, options.share);
  const port = await freePort();
  const backends = typeof options.backends === "function" ? options.backends(port) : (options.backends ?? [`PrometheusSimple suffix 127.0.0.1 ${port}`]);
  const release = JSON.parse(readFileSync(join(share, "config.json"), "utf8")) as JsonObject;
  mkdirSync(join(root, "config"));
  writeFileSync(join(root, "config", "config.json"), JSON.stringify(composeNodeFile(release, share, { TraceOptions: { "": { backends } } })));
  const topology = options.topology ?? (JSON.parse(readFileSync(join(share, "topology.json"), "utf8")) as JsonObject);
  writeFileSync(join(root, "config", "topology.json"), JSON.stringify(composeNodeFile(topology, share, {})));
  mkdirSync(join(root, "lab"));
  for (const [name, value] of Object.entries(options.faults ?? {})) writeFileSync(join(root, "lab", name), value);
  const keys = join(root, "keys");
  mkdirSync(keys, { mode: 0o700 });
  const cold = generateColdKey();
  const vrf = generateVrfKey();
  const kes = generateKesKey();
  const kesPeriod = kesPeriodAt(new Date(), network) + (options.kesPeriodOffset ?? 0);
  const cert = issueOperationalCertificate({ kesVerificationKey: kes.verificationKey, coldSigningKey: cold.signingKey, counter: 3, kesPeriod });
  writeFileSync(join(keys, "kes.skey"), writeKesSigningKey(kes.signingKey), { mode: 0o600 });
  writeFileSync(join(keys, "vrf.skey"), writeVrfSigningKey(vrf.signingKey), { mode: 0o600 });
  writeFileSync(join(keys, "node.cert"), writeOperationalCertificate(cert), { mode: 0o600 });
  const base = ["--config", join(root, "config", "config.json"), "--topology", join(root, "config", "topology.json"), "--database-path", join(root, "db", "node"), "--socket-path", join(root, "run", "node.socket"), "--port", "3001"];
  const credentialFlags = ["--shelley-kes-key", join(keys, "kes.skey"), "--shelley-vrf-key", join(keys, "vrf.skey"), "--shelley-operational-certificate", join(keys, "node.cert")];
  return { root, share, port, version, keys, base, credentialFlags, kesPeriod };
}
type Host = Awaited<ReturnType<typeof host>>;

interface Running {
  readonly child: ChildProcess;
  output(): string;
  exit: Promise<number | null>;
  started: Promise<void>;
}

function start(h: Host, args: string[]): Running {
  const child = spawn(process.execPath, ["--import", TSX, STANDIN, "run", ...args], {
    env: { ...process.env, POOL_LAB_NODE_VERSION: h.version, LAB_FAULT_DIR: join(h.root, "lab") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  const started = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => {
      output += c.toString();
      if (output.includes('"msg":"started"')) resolve();
    });
    child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    child.on("exit", (code) => reject(new Error(`the stand-in exited ${code} before starting:\n${output}`)));
  });
  started.catch(() => undefined);
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exit, started };
}

async function metrics(h: Host) {
  const res = await fetch(`http://127.0.0.1:${h.port}/metrics`);
  return parseMetrics(await res.text());
}

/** Polls the stand-in's metrics until `check` holds, with a deadline that says what it waited for. */
async function until(h: Host, what: string, check: (m: ReturnType<typeof parseMetrics>) => boolean, ms = 8000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = await metrics(h).catch(() => undefined);
    if (m && check(m)) return m;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify(m && Object.fromEntries(m))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const v = (m: ReturnType<typeof parseMetrics>, name: string) => metricValue(m, name);

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

// Each test spawns one to three stand-ins (each a tsx start): generous timeouts for a loaded machine.
describe("the node stand-in refuses what cardano-node refuses at startup", { timeout: 60_000 }, () => {
  it("a config without LastKnownBlockVersion-Major (POM.hs parseByronProtocol)", async () => {
    const h = await host({ share: { omitConfigKeys: ["LastKnownBlockVersion-Major"] } });
    const r = start(h, h.base);
    expect(await r.exit).toBe(1);
    expect(r.output()).toMatch(/key "LastKnownBlockVersion-Major" not found/);
  });

  it("an 11.0 config without TurnOnLogMetrics (POM.hs makeNodeConfiguration: Missing LogMetrics)", async () => {
    const h = await host({ version: "11.0.1", share: { omitConfigKeys: ["TurnOnLogMetrics"] } });
    const r = start(h, h.base);
    expect(await r.exit).toBe(1);
    expect(r.output()).toMatch(/TurnOnLogMetrics/);
  });

  it("a missing genesis file, and a genesis file whose hash is not the config's", async () => {
    const h = await host();
    rmSync(join(h.share, "alonzo-genesis.json"));
    const missing = start(h, h.base);
    expect(await missing.exit).toBe(1);
    expect(missing.output()).toMatch(/Alonzo genesis file .*alonzo-genesis\.json: does not exist/);
    const h2 = await host();
    writeFileSync(join(h2.share, "conway-genesis.json"), '{"committeeMinSize": 8}\n');
    const wrong = start(h2, h2.base);
    expect(await wrong.exit).toBe(1);
    expect(wrong.output()).toMatch(/Wrong Conway genesis file: the actual hash is [0-9a-f]{64}, but the expected Conway genesis hash given in the node configuration file is/);
  });

  it("a missing checkpoints file, and one whose hash is not the config's (Checkpoints.hs readCheckpointsMap)", async () => {
    const h = await host({ network: "preview" });
    rmSync(join(h.share, "checkpoints.json"));
    const missing = start(h, h.base);
    expect(await missing.exit).toBe(1);
    expect(missing.output()).toMatch(/There was an error reading the checkpoints file: ".*checkpoints\.json"/);
    const h2 = await host({ network: "preview" });
    writeFileSync(join(h2.share, "checkpoints.json"), '{"checkpoints": []}\n');
    const wrong = start(h2, h2.base);
    expect(await wrong.exit).toBe(1);
    expect(wrong.output()).toMatch(/Hash mismatch for checkpoints file ".*checkpoints\.json": the actual hash is [0-9a-f]{64}/);
    // The release's own file, untouched: the node starts.
    const h3 = await host({ network: "preview" });
    const ok = start(h3, h3.base);
    await ok.started;
    ok.child.kill("SIGTERM");
    expect(await ok.exit).toBe(0);
  });

  it("a database directory with a foreign file and no protocolMagicId (DbMarker.hs checkDbMarker)", async () => {
    const h = await host();
    mkdirSync(join(h.root, "db", "node"), { recursive: true });
    mkdirSync(join(h.root, "db", "node", "lost+found"));
    const r = start(h, h.base);
    expect(await r.exit).toBe(1);
    expect(r.output()).toMatch(/Missing ".*protocolMagicId" but the folder was not empty/);
    // Another network's marker is refused too.
    const h2 = await host();
    mkdirSync(join(h2.root, "db", "node"), { recursive: true });
    writeFileSync(join(h2.root, "db", "node", "protocolMagicId"), "764824073");
    const other = start(h2, h2.base);
    expect(await other.exit).toBe(1);
    expect(other.output()).toMatch(/Wrong protocolMagicId .*764824073, but expected: 1/);
  });

  it("a credential flag naming a missing file exits at startup, non-producing flag or not (Run.hs runNode)", async () => {
    const h = await host();
    rmSync(join(h.keys, "node.cert"));
    const r = start(h, [...h.base, ...h.credentialFlags, "--start-as-non-producing-node"]);
    expect(await r.exit).toBe(1);
    expect(r.output()).toMatch(/cannot read the forging credentials: missing .*node\.cert/);
    const h2 = await host();
    rmSync(join(h2.keys, "vrf.skey"));
    const noVrf = start(h2, [...h2.base, ...h2.credentialFlags]);
    expect(await noVrf.exit).toBe(1);
  });

  it("a VRF key readable by others is refused; group bits only warn (Run.hs checkVRFFilePermissions)", async () => {
    const h = await host();
    chmodSync(join(h.keys, "vrf.skey"), 0o604);
    const r = start(h, [...h.base, ...h.credentialFlags]);
    expect(await r.exit).toBe(1);
    expect(r.output()).toMatch(/has "other" file permissions/);
    const h2 = await host();
    chmodSync(join(h2.keys, "vrf.skey"), 0o640);
    const warned = start(h2, [...h2.base, ...h2.credentialFlags]);
    await warned.started;
    expect(warned.output()).toMatch(/WARNING: The VRF private key file .* has .{0,2}"group.{0,2}" file permissions/);
  });

  it("a topology with no trustable peer (TopologyP2P.hs readTopologyFile)", async () => {
    const h = await host({ topology: { localRoots: [{ accessPoints: [{ address: "10.0.0.1", port: 3001 }], advertise: false, trustable: false, valency: 1 }], publicRoots: [] } });
    const r = start(h, h.base);
    expect(await r.exit).toBe(1);
    expect(r.output()).toMatch(/not configured any trustable peers/);
  });
});

describe("the node stand-in's startup, SIGHUP and forging, as cardano-node's", { timeout: 60_000 }, () => {
  it("a SIGHUP during startup changes nothing; a node started as a producer forges when its startup ends", async () => {
    const h = await host({ faults: { "startup-seconds": "3" } });
    const r = start(h, [...h.base, ...h.credentialFlags]);
    await r.started;
    // Announced before the replay ends (the initial BlockForgingUpdate), but no chain and no forging loop yet.
    const early = await metrics(h);
    expect(v(early, "forging_enabled")).toBe(1);
    expect(v(early, "slotNum")).toBeUndefined();
    expect(v(early, "Forge_about_to_lead")).toBeUndefined();
    // The old "fence": credentials away, SIGHUP. NotEffective: the gauge says 0 ...
    for (const f of ["kes.skey", "vrf.skey", "node.cert"]) rmSync(join(h.keys, f));
    r.child.kill("SIGHUP");
    await until(h, "the gauge to read 0 (NotEffective)", (m) => v(m, "forging_enabled") === 0);
    // ... and yet, when the startup ends, it forges with the credentials it read at startup.
    const after = await until(h, "the startup to end and the forging loop to run", (m) => (v(m, "Forge_about_to_lead") ?? 0) > 0, 10_000);
    expect(v(after, "forging_enabled")).toBe(1);
    expect(v(after, "slotNum")).toBeGreaterThan(0);
  });

  it("started with credentials and the non-producing flag, a SIGHUP after startup turns forging ON (why the standby has no flags)", async () => {
    const h = await host();
    const r = start(h, [...h.base, ...h.credentialFlags, "--start-as-non-producing-node"]);
    await r.started;
    const m = await until(h, "the startup to end", (x) => v(x, "slotNum") !== undefined);
    expect(v(m, "forging_enabled")).toBe(0);
    r.child.kill("SIGHUP");
    await until(h, "forging after the SIGHUP", (x) => v(x, "forging_enabled") === 1 && (v(x, "Forge_about_to_lead") ?? 0) > 0);
  });

  it("started with no credential flags, no SIGHUP can make it forge, whatever files lie about", async () => {
    const h = await host();
    const r = start(h, h.base);
    await r.started;
    const first = await until(h, "the startup to end", (x) => v(x, "slotNum") !== undefined);
    r.child.kill("SIGHUP");
    await until(h, "the SIGHUP to be handled", (x) => x.get("cardano_node_lab_reloads_counter") === 1);
    const later = await until(h, "two more slots", (x) => (v(x, "slotNum") ?? 0) >= (v(first, "slotNum") ?? 0) + 2, 5000);
    expect(v(later, "forging_enabled")).toBe(0);
    expect(v(later, "Forge_about_to_lead")).toBeUndefined();
  });

  it("forging shows in the Forge counters; a stuck gauge (#6113/#6576) does not make the counters move", async () => {
    const h = await host();
    const r = start(h, [...h.base, ...h.credentialFlags]);
    await r.started;
    const first = await until(h, "the forging loop", (x) => (v(x, "Forge_about_to_lead") ?? 0) > 0);
    await until(h, "the counter to advance", (x) => (v(x, "Forge_about_to_lead") ?? 0) > (v(first, "Forge_about_to_lead") ?? 0), 4000);
    const s = await host({ faults: { "forging-gauge-stuck": "" } });
    const stuck = start(s, s.base);
    await stuck.started;
    const m = await until(s, "the startup to end", (x) => v(x, "slotNum") !== undefined);
    expect(v(m, "forging_enabled")).toBe(1);
    expect(v(m, "Forge_about_to_lead")).toBeUndefined();
  });

  it("restarted after its op cert expired, it runs but forges nothing (Forge.StateUpdateError)", async () => {
    const h = await host({ kesPeriodOffset: -62 });
    const r = start(h, [...h.base, ...h.credentialFlags]);
    await r.started;
    const m = await until(h, "the forging loop", (x) => (v(x, "Forge_about_to_lead") ?? 0) > 0);
    expect(v(m, "remainingKESPeriods")).toBe(0);
    expect(v(m, "Forge_forged") ?? 0).toBe(0);
  });

  it("metric names follow the PrometheusSimple backend: _int/_counter with suffix, bare without; none without it", async () => {
    const h = await host({ backends: (port) => [`PrometheusSimple 127.0.0.1 ${port}`] });
    const r = start(h, h.base);
    await r.started;
    const m = await until(h, "the startup to end", (x) => x.has("cardano_node_metrics_slotNum"));
    expect(m.has("cardano_node_metrics_slotNum_int")).toBe(false);
    const s = await host();
    const suffixed = start(s, s.base);
    await suffixed.started;
    expect((await until(s, "suffixed names", (x) => x.has("cardano_node_metrics_slotNum_int"))).has("cardano_node_metrics_forging_enabled_int")).toBe(true);
    const n = await host({ backends: ["EKGBackend", "Stdout MachineFormat"] });
    const none = start(n, n.base);
    await none.started;
    await expect(metrics(n)).rejects.toThrow();
  });

  it("SIGTERM and SIGINT stop it cleanly and remove its socket", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const h = await host();
      const r = start(h, h.base);
      await r.started;
      expect(existsSync(join(h.root, "run", "node.socket"))).toBe(true);
      r.child.kill(signal);
      expect(await r.exit).toBe(0);
      expect(existsSync(join(h.root, "run", "node.socket"))).toBe(false);
    }
  });
});
