/**
 * Test tooling: turns a bare lab into a running pool, as a deployed pool looks after `pool-ops keys import` and a
 * first config push. Every node host gets what its golden image would carry — the release's node files
 * (lab/release-fixtures.ts: synthetic genesis, so the lab's pool config names their hashes in `node.genesisHashes`,
 * the one lab fact) — then the files push-config renders from them (render/node-files.ts), the leader its credentials
 * in the active paths and the leader environment, the standby the same files held aside and the standby environment
 * (no credential flags: config/host-layout.ts), and every node is started.
 * With an emulator, the pool's secrets and leader parameter are created there and filled, as the stacks and
 * `keys import` would.
 *
 * The key set is generated in the test's memory: a test needs the cold key to check what commands did with it.
 * It is never written to the operator's disk here; only the hot files go to the lab's producers.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
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
import { readReleaseFacts, releaseNetworkDir } from "../ops/pool/release-facts";
import { renderNodeFiles } from "../render/node-files";
import { checkedRelease } from "../render/release-files";
import { labGenesisHashes, releaseShareFiles } from "./release-fixtures";
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

async function putCredentials(c: Connection, files: CredentialFiles, texts: Record<keyof CredentialFiles, string>, config: PoolConfig): Promise<void> {
  for (const key of ["kesKey", "vrfKey", "opcert"] as const) {
    await c.put(files[key], texts[key], { owner: config.node.user, group: config.node.group, mode: 0o600, backup: false, step: `install ${files[key]}` });
  }
}

/** What the golden image carries: the release's node files of the pool's network, root-owned (image bake does this). */
async function installReleaseShare(c: Connection, config: PoolConfig): Promise<void> {
  const dir = releaseNetworkDir(config);
  await c.runChecked(`install -d -m 0755 -o root -g root ${dir}`, { step: "release share dir" });
  for (const [name, content] of Object.entries(releaseShareFiles(config.network, config.node.version))) {
    await c.put(`${dir}/${name}`, content, { owner: "root", group: "root", mode: 0o644, backup: false, step: `install ${name}` });
  }
}

/** Writes a node's files as push-config renders them from its installed release. */
async function provisionNode(c: Connection, config: PoolConfig, inventory: Inventory, leader: ProducerName): Promise<void> {
  const release = checkedRelease(config, await readReleaseFacts(c, config));
  const nodes = inventory.hosts.filter((h) => h.role === "relay" || h.role === "producer");
  const host = nodes.find((h) => h.name === c.name)!;
  for (const file of renderNodeFiles(config, nodes, host, { leader, release })) {
    await c.runChecked(`install -d -m 0755 ${file.path.slice(0, file.path.lastIndexOf("/"))}`, { step: "node file dir" });
    await c.put(file.path, file.content, { owner: file.owner, group: file.group, mode: file.mode, backup: false, step: `write ${file.path}` });
  }
}

/** The lab fact: the pool runs the lab release's synthetic genesis (written into the lab's pool config once). */
function nameLabGenesis(poolConfigFile: string): void {
  const doc = parseYaml(readFileSync(poolConfigFile, "utf8")) as Record<string, Record<string, unknown>>;
  const network = (doc.network as unknown as string | undefined) ?? "preprod";
  if (doc.node?.genesisHashes) return;
  doc.node = { ...(doc.node ?? {}), genesisHashes: labGenesisHashes(network as PoolConfig["network"]) };
  writeFileSync(poolConfigFile, `# lab fact (lab/pool-provision.ts): node.genesisHashes names the lab release's synthetic genesis\n${stringifyYaml(doc)}`);
}

/**
 * Brings the lab's pool up: node files everywhere, credentials on the producers (leader active, standby held), every
 * node started, and (with `awsEndpoint`) the secrets and leader parameter in the emulator.
 */
export async function provisionLabPool(lab: LabState, options: ProvisionOptions = {}): Promise<ProvisionedPool> {
  nameLabGenesis(lab.files.poolConfig);
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
      const mode = host.role === "relay" ? "relay" : host.name === leader ? "leader" : "standby";
      await installReleaseShare(c, config);
      await provisionNode(c, config, inventory, leader);
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
