/**
 * The node stand-in on a lab host, driven by the pool config's service commands over SSH like a real node: forging
 * with valid credentials, SIGHUP semantics (mismatched → keep old, rotated → new, missing → forging off), refusal of
 * invalid credentials, relays, and fault injection.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPoolConfigFile } from "../config/load";
import type { PoolConfig } from "../config/schema";
import {
  generateColdKey,
  generateKesKey,
  generateVrfKey,
  issueOperationalCertificate,
  kesPeriodAt,
  writeKesSigningKey,
  writeOperationalCertificate,
  writeVrfSigningKey,
} from "../ops/cardano";
import type { Connection } from "../ops/remote/connection";
import type { Fleet } from "../ops/remote/fleet";
import { LAB_SKIP, LAB_SKIP_NOTE, labFleet, useLab } from "./harness";

const HOME = "/opt/cardano";
const KEYS = `${HOME}/keys`;
const NODE_ARGS_PRODUCER = `--config ${HOME}/config/config.json --topology ${HOME}/config/topology.json --database-path ${HOME}/db --socket-path ${HOME}/run/node.socket --host-addr 0.0.0.0 --port 3001 --shelley-kes-key ${KEYS}/kes.skey --shelley-vrf-key ${KEYS}/vrf.skey --shelley-operational-certificate ${KEYS}/node.cert`;
const NODE_ARGS_RELAY = `--config ${HOME}/config/config.json --topology ${HOME}/config/topology.json --database-path ${HOME}/db --socket-path ${HOME}/run/node.socket --host-addr 0.0.0.0 --port 3001`;

async function scrape(c: Connection): Promise<Record<string, number>> {
  const r = await c.runChecked(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/12798 && printf "GET /metrics HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3'`, { sudo: false, step: "scrape metrics" });
  const text = r.stdout.toString();
  if (!text.startsWith("HTTP/1.1 200")) throw new Error(`metrics: ${text.split("\n")[0]}`);
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => /^[a-zA-Z_]+ -?\d+$/.test(l))
      .map((l) => [l.split(" ")[0]!, Number(l.split(" ")[1])]),
  );
}

/** Polls until `check` holds (the node applies a SIGHUP asynchronously). */
async function eventually<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, ms = 8000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(LAB_SKIP)(`node stand-in on the lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab();
  let fleet: Fleet;
  let config: PoolConfig;
  const cold = generateColdKey();
  const vrf = generateVrfKey();
  const kes1 = generateKesKey();
  const kes2 = generateKesKey();
  const period = kesPeriodAt(new Date(), "preprod");
  const cert = (kes: ReturnType<typeof generateKesKey>, counter: number, kesPeriod = period) =>
    writeOperationalCertificate(issueOperationalCertificate({ kesVerificationKey: kes.verificationKey, coldSigningKey: cold.signingKey, counter, kesPeriod }));
  const owned = { owner: "cardano", group: "cardano" };

  async function install(c: Connection, nodeArgs: string, topology: object) {
    await c.runChecked(`install -d -o cardano -g cardano -m 0750 ${HOME}/config ${KEYS}`);
    await c.put(`${HOME}/config/config.json`, JSON.stringify({ LabNetwork: "preprod", hasPrometheus: ["127.0.0.1", 12798] }), { ...owned, mode: 0o644 });
    await c.put(`${HOME}/config/topology.json`, JSON.stringify(topology), { ...owned, mode: 0o644 });
    await c.put(`${HOME}/config/cardano-node.env`, `NODE_ARGS="${nodeArgs}"\n`, { ...owned, mode: 0o644 });
  }
  const service = (c: Connection, verb: "start" | "stop" | "restart" | "reload" | "isActive") => c.run(config.node.service[verb], { step: `service ${verb}` });

  beforeAll(async () => {
    fleet = await labFleet(lab());
    config = loadPoolConfigFile(lab().files.poolConfig);
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("a producer with valid credentials forges and reports real KES periods", async () => {
    const p = fleet.connection("producer-1");
    await install(p, NODE_ARGS_PRODUCER, { localRoots: [{ accessPoints: [{ address: "10.0.0.1", port: 3001 }, { address: "10.0.0.2", port: 3001 }], valency: 2 }], publicRoots: [] });
    await p.put(`${KEYS}/kes.skey`, writeKesSigningKey(kes1.signingKey), { ...owned, mode: 0o600 });
    await p.put(`${KEYS}/vrf.skey`, writeVrfSigningKey(vrf.signingKey), { ...owned, mode: 0o600 });
    await p.put(`${KEYS}/node.cert`, cert(kes1, 0), { ...owned, mode: 0o600 });
    const started = await service(p, "start");
    expect(started.exitCode, started.stderr).toBe(0);
    expect((await service(p, "isActive")).exitCode).toBe(0);
    const m = await scrape(p);
    expect(m.cardano_node_metrics_forging_enabled_int).toBe(1);
    expect(m.cardano_node_metrics_currentKESPeriod_int).toBe(kesPeriodAt(new Date(), "preprod"));
    expect(m.cardano_node_metrics_operationalCertificateStartKESPeriod_int).toBe(period);
    expect(m.cardano_node_metrics_operationalCertificateExpiryKESPeriod_int).toBe(period + 62);
    expect(m.cardano_node_metrics_remainingKESPeriods_int).toBe(period + 62 - m.cardano_node_metrics_currentKESPeriod_int!);
    expect(m.cardano_node_metrics_connectedPeers_int).toBe(2);
    expect(Math.abs(m.cardano_node_metrics_slotNum_int! - (86_400 + Math.floor(Date.now() / 1000) - 1655769600))).toBeLessThanOrEqual(2);
    // The node runs as the service user, in the host's namespaces.
    const owner = await p.runChecked(`ps -o user= -p $(cat ${HOME}/run/cardano-node.pid)`);
    expect(owner.stdout.toString().trim()).toBe("cardano");
  });

  it("SIGHUP with a KES key that does not match the cert keeps the old credentials", async () => {
    const p = fleet.connection("producer-1");
    await p.put(`${KEYS}/kes.skey`, writeKesSigningKey(kes2.signingKey), { ...owned, mode: 0o600 });
    expect((await service(p, "reload")).exitCode).toBe(0);
    const m = await eventually("the reload", () => scrape(p), (v) => v.cardano_node_lab_reloads_counter === 1);
    expect(m.cardano_node_metrics_forging_enabled_int).toBe(1);
    expect(m.cardano_node_lab_opcert_counter_int).toBe(0);
    const logText = (await p.readText(`${HOME}/logs/node.log`)) ?? "";
    expect(logText).toMatch(/new credentials refused, keeping the old ones: .*KES key does not match/);
  });

  it("SIGHUP after a proper rotation (new KES key, next counter) forges with the new cert", async () => {
    const p = fleet.connection("producer-1");
    await p.put(`${KEYS}/node.cert`, cert(kes2, 1), { ...owned, mode: 0o600 });
    await service(p, "reload");
    const m = await eventually("the rotation", () => scrape(p), (v) => v.cardano_node_lab_opcert_counter_int === 1);
    expect(m.cardano_node_metrics_forging_enabled_int).toBe(1);
    expect(m.cardano_node_lab_reloads_counter).toBe(2);
  });

  it("SIGHUP with the credential files moved away switches forging off (fencing)", async () => {
    const p = fleet.connection("producer-1");
    await p.runChecked(`mv ${KEYS}/node.cert ${KEYS}/node.cert.fenced`);
    await service(p, "reload");
    const m = await eventually("forging off", () => scrape(p), (v) => v.cardano_node_metrics_forging_enabled_int === 0);
    expect(m.cardano_node_lab_reloads_counter).toBe(3);
    await p.runChecked(`mv ${KEYS}/node.cert.fenced ${KEYS}/node.cert`);
    await service(p, "reload");
    await eventually("forging back on", () => scrape(p), (v) => v.cardano_node_metrics_forging_enabled_int === 1);
  });

  it("refuses to start with invalid credentials (expired cert), and with refuse-credentials injected", async () => {
    const p = fleet.connection("producer-1");
    await p.put(`${KEYS}/node.cert`, cert(kes2, 2, period - 62), { ...owned, mode: 0o600 });
    const expired = await service(p, "restart");
    expect(expired.exitCode).not.toBe(0);
    expect(expired.stderr).toMatch(/cannot forge: op cert expired/);
    expect((await service(p, "isActive")).exitCode).toBe(3);
    await p.put(`${KEYS}/node.cert`, cert(kes2, 2), { ...owned, mode: 0o600 });
    await p.runChecked(`touch ${HOME}/lab/refuse-credentials`);
    const refused = await service(p, "start");
    expect(refused.stderr).toMatch(/refused by lab fault injection/);
    await p.runChecked(`rm ${HOME}/lab/refuse-credentials`);
    expect((await service(p, "start")).exitCode).toBe(0);
    expect((await scrape(p)).cardano_node_lab_opcert_counter_int).toBe(2);
  });

  it("a producer started non-producing without its files starts forging on SIGHUP once they arrive", async () => {
    const p = fleet.connection("producer-2");
    await install(p, `${NODE_ARGS_PRODUCER} --start-as-non-producing-node`, { localRoots: [], publicRoots: [] });
    expect((await service(p, "start")).exitCode).toBe(0);
    expect((await scrape(p)).cardano_node_metrics_forging_enabled_int).toBe(0);
    await p.put(`${KEYS}/kes.skey`, writeKesSigningKey(kes1.signingKey), { ...owned, mode: 0o600 });
    await p.put(`${KEYS}/vrf.skey`, writeVrfSigningKey(vrf.signingKey), { ...owned, mode: 0o600 });
    await p.put(`${KEYS}/node.cert`, cert(kes1, 3), { ...owned, mode: 0o600 });
    await service(p, "reload");
    await eventually("forging on", () => scrape(p), (v) => v.cardano_node_metrics_forging_enabled_int === 1);
    expect((await service(p, "stop")).exitCode).toBe(0);
    expect((await service(p, "isActive")).exitCode).toBe(3);
  });

  it("a relay reads its topology (re-read on SIGHUP) and never forges; slot-lag and metrics-down faults show", async () => {
    const r = fleet.connection("relay-1");
    await install(r, NODE_ARGS_RELAY, { bootstrapPeers: [{ address: "backbone.cardano.iog.io", port: 3001 }], localRoots: [], publicRoots: [] });
    expect((await service(r, "start")).exitCode).toBe(0);
    let m = await scrape(r);
    expect(m.cardano_node_metrics_forging_enabled_int).toBe(0);
    expect(m.cardano_node_metrics_connectedPeers_int).toBe(1);
    expect(m.cardano_node_metrics_remainingKESPeriods_int).toBeUndefined();
    await r.put(`${HOME}/config/topology.json`, JSON.stringify({ localRoots: [{ accessPoints: [{ address: "10.0.0.5", port: 3001 }, { address: "10.0.0.6", port: 3001 }, { address: "10.0.0.7", port: 3001 }] }], publicRoots: [] }));
    await service(r, "reload");
    m = await eventually("topology re-read", () => scrape(r), (v) => v.cardano_node_metrics_connectedPeers_int === 3);
    await r.put(`${HOME}/lab/slot-lag`, "5000\n");
    const lagging = await scrape(r);
    const now = 86_400 + Math.floor(Date.now() / 1000) - 1655769600;
    expect(now - lagging.cardano_node_metrics_slotNum_int!).toBeGreaterThanOrEqual(4998);
    await r.runChecked(`rm ${HOME}/lab/slot-lag && touch ${HOME}/lab/metrics-down`);
    await expect(scrape(r)).rejects.toThrow(/503/);
    await r.runChecked(`rm ${HOME}/lab/metrics-down`);
  });
});
