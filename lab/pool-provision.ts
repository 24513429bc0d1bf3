/**
 * Test tooling: what an operator does after `cdktf deploy` to make the lab's pool forge — nothing more. The key set is
 * generated (a test needs the cold key to check what commands do with it), put into the pool's secrets with
 * `pool-ops keys import` (from a directory only the test can read, removed at once, as an operator's offline key
 * directory would be), the deploy-time leader recorded, and the producers rebooted through EC2 so that their leader
 * guard — which runs on every boot — fetches the hot keys into the leader's active paths and holds them aside on the
 * standby. Every file on every host is then the product's: its image, its user data, its boot, pool-ops.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { CredentialFiles } from "../config/host-layout";
import { loadPoolConfigFile } from "../config/load";
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
import type { Fleet } from "../ops/remote/fleet";
import { loadInventoryFile, type Inventory } from "../ops/remote/inventory";
import { labFleet, runPoolOps, waitForSsh } from "./harness";
import { rebootInstance } from "./lab-hosts";
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

/** How long a rebooted producer may take to answer SSH and start its node (boot, leader guard, node startup). */
const PRODUCER_BOOT_DEADLINE_MS = 120_000;

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

/** `pool-ops keys import` of the key set, from a directory that exists only for the import. */
async function importKeys(lab: LabState, config: PoolConfig, keys: LabPoolKeys): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "lab-keyset-"));
  try {
    const files: Record<string, string> = {
      "cold.skey": writeColdSigningKey(keys.cold.signingKey),
      "cold.counter": writeOpcertCounter({ next: keys.counter + 1, coldVerificationKey: keys.cold.verificationKey }),
      ...Object.fromEntries(Object.entries(credentialTexts(keys)).map(([k, text]) => [{ kesKey: "kes.skey", vrfKey: "vrf.skey", opcert: "node.cert" }[k]!, text])),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
    const r = await runPoolOps(lab, ["keys", "import", "--yes", "--pool", config.name, "--region", config.region, "--endpoint", lab.awsEndpoint, "--dir", dir], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`pool-ops keys import failed (${r.code}):\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Makes the lab's pool forge the way an operator does after a deploy: keys imported, the leader recorded, the
 * producers rebooted (their guard installs the keys), then both producers' nodes awaited.
 */
export async function provisionLabPool(lab: LabState, options: ProvisionOptions = {}): Promise<ProvisionedPool> {
  const config = loadPoolConfigFile(lab.files.poolConfig);
  const inventory = loadInventoryFile(lab.files.inventory);
  const leader = options.leader ?? "producer-1";
  const standby: ProducerName = leader === "producer-1" ? "producer-2" : "producer-1";
  const keys = generateLabPoolKeys({ kesPeriod: options.kesPeriod ?? kesPeriodAt(new Date(), config.network), counter: options.counter ?? 0 });
  await importKeys(lab, config, keys);
  const ssm = new SSMClient(awsClientSettings({ region: config.region, endpoint: lab.awsEndpoint }));
  try {
    if (inventory.parameters.leader) await ssm.send(new PutParameterCommand({ Name: inventory.parameters.leader, Value: leader, Type: "String", Overwrite: true }));
  } finally {
    ssm.destroy();
  }
  await Promise.all(
    ["producer-1", "producer-2"].map(async (p) => {
      await rebootInstance(lab, p, PRODUCER_BOOT_DEADLINE_MS);
      await waitForSsh(lab, p, PRODUCER_BOOT_DEADLINE_MS);
      const until = Date.now() + PRODUCER_BOOT_DEADLINE_MS;
      for (;;) {
        const r = await runPoolOps(lab, ["run", "-H", p, "--", "systemctl is-active --quiet cardano-node && test -s /opt/cardano/config/cardano-node.env"], { timeoutMs: 30_000 });
        if (r.code === 0) break;
        if (Date.now() > until) throw new Error(`${p}: its node did not start within ${PRODUCER_BOOT_DEADLINE_MS / 1000} s of the reboot:\n${r.stdout}${r.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }),
  );
  const fleet = await labFleet(lab);
  return { config, inventory: loadInventoryFile(lab.files.inventory), fleet, keys, leader, standby };
}
