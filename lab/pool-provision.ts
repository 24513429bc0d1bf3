/**
 * Test tooling: turns a bare lab into a running pool, as a deployed pool looks after `pool-ops keys import` and a
 * first config push. Every node host gets a config, a topology and an environment file, the leader its credentials
 * in the active paths, the standby the same files held aside (config/host-layout.ts), and every node is started.
 * With an emulator, the pool's secrets and leader parameter are created there and filled, as the stacks and
 * `keys import` would.
 *
 * The key set is generated in the test's memory: a test needs the cold key to check what commands did with it.
 * It is never written to the operator's disk here; only the hot files go to the lab's producers.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { hostLayout, type CredentialFiles } from "../config/host-layout";
import { loadPoolConfigFile } from "../config/load";
import { poolSecretNames } from "../config/names";
import type { PoolConfig } from "../config/schema";
import { awsClientSettings } from "../ops/aws/client-config";
import {
  generateColdKey,
  generateKesKey,
  generateVrfKey,
  issueOperationalCertificate,
  kesPeriodAt,
  writeColdSigningKey,
  writeKesSigningKey,
  writeOperationalCertificate,
  writeOpcertCounter,
  writeVrfSigningKey,
  type ColdKeyPair,
  type KesKeyPair,
  type VrfKeyPair,
} from "../ops/cardano";
import type { Connection } from "../ops/remote/connection";
import type { Fleet } from "../ops/remote/fleet";
import { loadInventoryFile, type Inventory } from "../ops/remote/inventory";
import { nodeEnvironmentFile, type NodeMode } from "../render/node-args";
import { labFleet } from "./harness";
import type { LabState } from "./lab";

export type ProducerName = "producer-1" | "producer-2";

export interface LabPoolKeys {
  readonly cold: ColdKeyPair;
  readonly vrf: VrfKeyPair;
  readonly kes: KesKeyPair;
  /** Counter of the cert the producers hold; the counter secret holds `counter + 1` (the next issue number). */
  readonly counter: number;
  readonly kesPeriod: number;
  /** The op cert text envelope on the producers. */
  readonly opcert: string;
}

export interface ProvisionOptions {
  /** @default "producer-1" */
  readonly leader?: ProducerName;
  /** Emulator endpoint: create and fill the pool's secrets and the leader parameter there. */
  readonly awsEndpoint?: string;
  /** KES period the first cert starts at. @default the current period */
  readonly kesPeriod?: number;
  /** Issue number of the first cert. @default 0 */
  readonly counter?: number;
}

export interface ProvisionedPool {
  readonly config: PoolConfig;
  readonly inventory: Inventory;
  readonly fleet: Fleet;
  readonly keys: LabPoolKeys;
  readonly leader: ProducerName;
  readonly standby: ProducerName;
}

const OWNED_DIR_MODE = "0700";

/** The credential files' texts: what `keys import` puts into the hot secrets and a producer holds. */
export function credentialTexts(keys: LabPoolKeys): Record<keyof CredentialFiles, string> {
  return { kesKey: writeKesSigningKey(keys.kes.signingKey), vrfKey: writeVrfSigningKey(keys.vrf.signingKey), opcert: keys.opcert };
}

export function generateLabPoolKeys(options: { kesPeriod: number; counter: number }): LabPoolKeys {
  const cold = generateColdKey();
  const vrf = generateVrfKey();
  const kes = generateKesKey();
  const cert = issueOperationalCertificate({
    kesVerificationKey: kes.verificationKey,
    coldSigningKey: cold.signingKey,
    counter: options.counter,
    kesPeriod: options.kesPeriod,
  });
  return { cold, vrf, kes, counter: options.counter, kesPeriod: options.kesPeriod, opcert: writeOperationalCertificate(cert) };
}

/** A topology the stand-in accepts: relays know the producers and each other, producers only the relays. */
function labTopology(inventory: Inventory, hostName: string, port: number): object {
  const role = inventory.hosts.find((h) => h.name === hostName)?.role;
  const peers = inventory.hosts.filter((h) => h.name !== hostName && (h.role === "relay" || (role === "relay" && h.role === "producer")));
  return {
    localRoots: [{ accessPoints: peers.map((h) => ({ address: h.privateIp, port })), advertise: false, trustable: true, valency: peers.length }],
    publicRoots: [],
    useLedgerAfterSlot: role === "relay" ? 0 : -1,
  };
}

async function putCredentials(c: Connection, files: CredentialFiles, texts: Record<keyof CredentialFiles, string>, config: PoolConfig): Promise<void> {
  for (const key of ["kesKey", "vrfKey", "opcert"] as const) {
    await c.put(files[key], texts[key], { owner: config.node.user, group: config.node.group, mode: 0o600, backup: false, step: `install ${files[key]}` });
  }
}

/** Writes a node's files and starts it. */
async function provisionNode(c: Connection, config: PoolConfig, inventory: Inventory, mode: NodeMode): Promise<void> {
  const layout = hostLayout(config);
  const owned = { owner: config.node.user, group: config.node.group };
  await c.runChecked(`install -d -o ${config.node.user} -g ${config.node.group} -m 0755 ${layout.configDir}`, { step: "config dir" });
  await c.put(layout.nodeConfig, `${JSON.stringify({ LabNetwork: config.network, hasPrometheus: ["127.0.0.1", config.node.metricsPort] }, null, 2)}\n`, { ...owned, mode: 0o644, backup: false });
  await c.put(layout.topology, `${JSON.stringify(labTopology(inventory, c.name, config.relays.port), null, 2)}\n`, { ...owned, mode: 0o644, backup: false });
  await c.put(layout.environmentFile, nodeEnvironmentFile(config, mode), { ...owned, mode: 0o640, backup: false });
}

/**
 * Brings the lab's pool up: node files everywhere, credentials on the producers (leader active, standby held), every
 * node started, and (with `awsEndpoint`) the secrets and leader parameter in the emulator.
 */
export async function provisionLabPool(lab: LabState, options: ProvisionOptions = {}): Promise<ProvisionedPool> {
  const config = loadPoolConfigFile(lab.files.poolConfig);
  const inventory = loadInventoryFile(lab.files.inventory);
  const network = config.network;
  const leader = options.leader ?? "producer-1";
  const standby: ProducerName = leader === "producer-1" ? "producer-2" : "producer-1";
  const keys = generateLabPoolKeys({ kesPeriod: options.kesPeriod ?? kesPeriodAt(new Date(), network), counter: options.counter ?? 0 });
  const texts = credentialTexts(keys);
  const layout = hostLayout(config);

  if (options.awsEndpoint) {
    const arns = await fillEmulator(options.awsEndpoint, config, inventory, keys, leader);
    // The inventory names secrets by ARN, as a deployed pool's does: point it at the emulator's.
    const document = JSON.parse(readFileSync(lab.files.inventory, "utf8")) as { inventory: { value: { secrets: Record<string, string> } } };
    document.inventory.value.secrets = arns;
    writeFileSync(lab.files.inventory, `${JSON.stringify(document, null, 2)}\n`);
  }
  const inventoryNow = loadInventoryFile(lab.files.inventory);

  const fleet = await labFleet(lab);
  const nodes = inventory.hosts.filter((h) => h.role === "relay" || h.role === "producer");
  await Promise.all(
    nodes.map(async (host) => {
      const c = fleet.connection(host.name);
      const mode: NodeMode = host.role === "relay" ? "relay" : host.name === leader ? "leader" : "standby";
      await provisionNode(c, config, inventory, mode);
      if (host.role === "producer") {
        const dirs = `${layout.keysDir} ${layout.keysDir}/standby`;
        await c.runChecked(`install -d -o ${config.node.user} -g ${config.node.group} -m ${OWNED_DIR_MODE} ${dirs}`, { step: "keys dirs" });
        await putCredentials(c, mode === "leader" ? layout.activeCredentials : layout.heldCredentials, texts, config);
      }
      const started = await c.run(config.node.service.start, { step: "start node" });
      if (started.exitCode !== 0) throw new Error(`${host.name}: node did not start: ${started.stderr}`);
    }),
  );
  return { config, inventory: inventoryNow, fleet, keys, leader, standby };
}

/** Creates and fills the pool's secrets and leader parameter; returns the secrets' ARNs by key. */
async function fillEmulator(endpoint: string, config: PoolConfig, inventory: Inventory, keys: LabPoolKeys, leader: ProducerName): Promise<Record<string, string>> {
  const settings = awsClientSettings({ region: config.region, endpoint });
  const secrets = new SecretsManagerClient(settings);
  const ssm = new SSMClient(settings);
  try {
    const names = poolSecretNames(config.name);
    const values: Record<keyof typeof names, string> = {
      coldSigningKey: writeColdSigningKey(keys.cold.signingKey),
      opcertCounter: writeOpcertCounter({ next: keys.counter + 1, coldVerificationKey: keys.cold.verificationKey }),
      kesSigningKey: writeKesSigningKey(keys.kes.signingKey),
      vrfSigningKey: writeVrfSigningKey(keys.vrf.signingKey),
      opcert: keys.opcert,
    };
    const arns: Record<string, string> = {};
    for (const key of Object.keys(names) as (keyof typeof names)[]) {
      const created = await secrets.send(new CreateSecretCommand({ Name: names[key] }));
      arns[key] = created.ARN ?? names[key];
      await secrets.send(new PutSecretValueCommand({ SecretId: arns[key], SecretString: values[key] }));
    }
    const parameter = inventory.parameters.leader;
    if (parameter) await ssm.send(new PutParameterCommand({ Name: parameter, Value: leader, Type: "String", Overwrite: true }));
    return arns;
  } finally {
    secrets.destroy();
    ssm.destroy();
  }
}
