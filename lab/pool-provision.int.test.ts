/**
 * The provisioning fixture other lab tests stand on: after it, the leader forges, the standby runs with its
 * credentials held aside (not forging), relays run, and the emulator holds the pool's secrets and leader parameter.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostLayout } from "../config/host-layout";
import { awsClientSettings } from "../ops/aws/client-config";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "./aws-emulator";
import { LAB_SKIP, LAB_SKIP_NOTE, useLab } from "./harness";
import { provisionLabPool, type ProvisionedPool } from "./pool-provision";

async function metric(pool: ProvisionedPool, host: string, name: string): Promise<number | undefined> {
  const c = pool.fleet.connection(host);
  const r = await c.runChecked(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/${pool.config.node.metricsPort} && printf "GET /metrics HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3'`, { sudo: false });
  const line = r.stdout.toString().split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : undefined;
}

const skip = LAB_SKIP ?? (emulatorAvailable() ? undefined : "moto_server is not installed");
describe.skipIf(skip)(`lab pool provisioning${LAB_SKIP_NOTE}`, () => {
  const lab = useLab();
  let emulator: AwsEmulator;
  let pool: ProvisionedPool;
  beforeAll(async () => {
    emulator = await startAwsEmulator();
    pool = await provisionLabPool(lab(), { leader: "producer-2", awsEndpoint: emulator.endpoint });
  }, 90_000);
  afterAll(async () => {
    await pool?.fleet.close();
    await emulator?.stop();
  });

  it("the leader forges, the standby holds its credentials aside and does not", async () => {
    expect(await metric(pool, "producer-2", "cardano_node_metrics_forging_enabled_int")).toBe(1);
    expect(await metric(pool, "producer-1", "cardano_node_metrics_forging_enabled_int")).toBe(0);
    const layout = hostLayout(pool.config);
    const standby = pool.fleet.connection("producer-1");
    expect(await standby.read(layout.activeCredentials.opcert)).toBeUndefined();
    expect((await standby.readText(layout.heldCredentials.opcert))?.trim()).toBe(pool.keys.opcert.trim());
    const mode = await standby.runChecked(`stat -c '%a %U' ${layout.heldCredentials.kesKey}`);
    expect(mode.stdout.toString().trim()).toBe("600 cardano");
    expect(await metric(pool, "relay-1", "cardano_node_metrics_connectedPeers_int")).toBe(5);
  });

  it("the emulator holds the secrets named in the inventory and the leader parameter", async () => {
    const settings = awsClientSettings({ region: pool.config.region, endpoint: emulator.endpoint });
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
