/**
 * The hot pair as one unit, on the emulator: both secrets' new versions carry one version id, and the KES key of the
 * op cert's current version id can be read — before, during and after a second write — which is what the leader
 * guard reads at boot (stacks/boot/leader-guard.sh).
 */
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../../lab/aws-emulator";
import { requireTool } from "../../test/support";
import { awsClientSettings } from "./client-config";
import { putHotPair } from "./hot-pair-secrets";
import { SecretsManagerSecretStore } from "./secret-store";

const available = requireTool(emulatorAvailable(), "moto (the AWS emulator) is not installed for python3");

describe.skipIf(!available)("the hot pair's secrets, one version id for both", () => {
  let emulator: AwsEmulator;
  let client: SecretsManagerClient;
  const ids = { kesSigningKey: "sandstone/hot/kes-signing-key", opcert: "sandstone/hot/opcert" };

  beforeAll(async () => {
    emulator = await startAwsEmulator();
    client = new SecretsManagerClient(awsClientSettings({ region: "eu-west-1", endpoint: emulator.endpoint }));
    for (const name of Object.values(ids)) await client.send(new CreateSecretCommand({ Name: name }));
  }, 60_000);
  afterAll(async () => {
    client?.destroy();
    await emulator?.stop();
  });

  const current = async (id: string) => client.send(new GetSecretValueCommand({ SecretId: id }));
  const atVersion = async (id: string, versionId: string) => client.send(new GetSecretValueCommand({ SecretId: id, VersionId: versionId }));

  it("writes both under one new id, and the cert's current id finds its own KES key after the next write too", async () => {
    const store = new SecretsManagerSecretStore({ region: "eu-west-1", endpoint: emulator.endpoint });
    try {
      const first = await putHotPair(store, ids, "kes-1", "cert-1");
      expect(first).toMatch(/^[0-9a-f-]{36}$/);
      const cert = await current(ids.opcert);
      expect([cert.VersionId, cert.SecretString]).toEqual([first, "cert-1"]);
      expect((await atVersion(ids.kesSigningKey, cert.VersionId!)).SecretString).toBe("kes-1");

      const second = await putHotPair(store, ids, "kes-2", "cert-2");
      expect(second).not.toBe(first);
      expect((await atVersion(ids.kesSigningKey, (await current(ids.opcert)).VersionId!)).SecretString).toBe("kes-2");
      // A reader that saw the first cert a moment ago still gets that cert's KES key (its version is AWSPREVIOUS).
      expect((await atVersion(ids.kesSigningKey, first)).SecretString).toBe("kes-1");
    } finally {
      store.close();
    }
  });
});
