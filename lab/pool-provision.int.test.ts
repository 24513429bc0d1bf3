/**
 * The provisioning fixture other lab tests stand on: after it, the leader forges, the standby runs with its
 * credentials held aside (not forging), relays run, and the emulator holds the pool's secrets and leader parameter.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostLayout } from "../config/host-layout";
import { awsClientSettings } from "../ops/aws/client-config";
import { readNodeMetrics } from "../ops/pool/node-metrics";
import { LAB_SKIP, LAB_SKIP_NOTE, useLab } from "./harness";
import { provisionLabPool, type ProvisionedPool } from "./pool-provision";

/** A metric as pool-ops reads it (the node serves them on its private address, per the rendered config). */
async function metric(pool: ProvisionedPool, host: string, name: string): Promise<number | undefined> {
  const metrics = await readNodeMetrics(pool.fleet.connection(host), hostLayout(pool.config).nodeConfig, pool.config.node.metricsPort);
  return metrics?.get(name);
}

const skip = LAB_SKIP;
describe.skipIf(skip)(`lab pool provisioning${LAB_SKIP_NOTE}`, () => {
  const lab = useLab();
  let pool: ProvisionedPool;
  beforeAll(async () => {
    pool = await provisionLabPool(lab(), { leader: "producer-2" });
  }, 90_000);
  afterAll(async () => {
    await pool?.fleet.close();
  });

  it("the leader forges, the standby holds its credentials aside and does not", async () => {
    expect(await metric(pool, "producer-2", "cardano_node_metrics_forging_enabled_int")).toBe(1);
    expect(await metric(pool, "producer-1", "cardano_node_metrics_forging_enabled_int")).toBe(0);
    const layout = hostLayout(pool.config);
    const standby = pool.fleet.connection("producer-1");
    expect(await standby.read(layout.activeCredentials.opcert)).toBeUndefined();
    expect((await standby.readText(layout.heldCredentials.opcert))?.trim()).toBe(pool.keys.opcert.trim());
    // config/host-layout.ts nodeFileModes: the KES key root's, readable by the node's group; the VRF key the node's 0600.
    const mode = await standby.runChecked(`stat -c '%a %U:%G' ${layout.heldCredentials.kesKey} ${layout.heldCredentials.vrfKey} ${layout.keysDir} ${layout.configDir} ${layout.environmentFile}`);
    expect(mode.stdout.toString().trim().split("\n")).toEqual(["640 root:cardano", "600 cardano:cardano", "750 root:cardano", "750 root:cardano", "640 root:cardano"]);
    // Both producers, the three other relays, and the release's bootstrap peer.
    expect(await metric(pool, "relay-1", "cardano_node_metrics_connectedPeers_int")).toBe(6);
    // The standby's command line names no credentials.
    expect(await standby.readText(layout.environmentFile)).not.toMatch(/shelley/);
  });

  it("the emulator holds the secrets named in the inventory and the leader parameter", async () => {
    const settings = awsClientSettings({ region: pool.config.region, endpoint: lab().awsEndpoint });
    const secrets = new SecretsManagerClient(settings);
    const ssm = new SSMClient(settings);
    const cert = await secrets.send(new GetSecretValueCommand({ SecretId: pool.inventory.secrets.opcert }));
    expect(cert.SecretString).toBe(pool.keys.opcert);
    const leader = await ssm.send(new GetParameterCommand({ Name: pool.inventory.parameters.leader! }));
    expect(leader.Parameter?.Value).toBe("producer-2");
    secrets.destroy();
    ssm.destroy();
  });
});
