/**
 * The process that asks for a signature never holds the cold key: after a signing against the Secrets Manager
 * emulator, this process's whole memory (/proc/self/mem) holds neither the 32-byte seed nor its SHA-512 expansion
 * (nor either half of it). The keys are made by another process and reach this one only masked.
 *
 * Control: a second key that this process reads and wipes itself, as pool-ops did before the signer child, IS found
 * by the same search — so a search that finds nothing means something.
 */
import { spawnSync } from "node:child_process";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../../lab/aws-emulator";
import type { ColdKeyInEmulator } from "../../test/cold-key-in-emulator";
import { searchOwnMemory, type MaskedNeedle } from "../../test/process-memory";
import { PROJECT_ROOT, requireTool } from "../../test/support";
import { awsClientSettings } from "../aws/client-config";
import { SecretsManagerSecretStore } from "../aws/secret-store";
import { generateKesKey, hexToBytesFrom, readColdSigningKey, verifyOperationalCertificate, wipe } from "../cardano";
import { issueOpcertWithColdKeySecret } from "./issue-opcert";

const REGION = "eu-west-1";
const SECRET = "sandstone/cold/signing-key";
const CONTROL = "control/cold/signing-key";
const available = requireTool(emulatorAvailable(), "moto (the AWS emulator) is not installed for python3, so the cold key memory test cannot run");
const procMem = (() => {
  try {
    return spawnSync("test", ["-r", "/proc/self/mem"]).status === 0;
  } catch {
    return false;
  }
})();

/** A cold key made and put into the emulator by another process; this one gets its needles masked. */
function coldKeyMadeElsewhere(endpoint: string, secretId: string): { coldVerificationKey: Uint8Array; needles: MaskedNeedle[] } {
  const run = spawnSync(process.execPath, ["--import", "tsx", "test/cold-key-in-emulator.ts", endpoint, REGION, secretId], { cwd: PROJECT_ROOT, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`test/cold-key-in-emulator.ts failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as ColdKeyInEmulator;
  return {
    coldVerificationKey: hexToBytesFrom(out.coldVerificationKey, "fixture"),
    needles: out.needles.map((n) => ({ name: n.name, masked: hexToBytesFrom(n.masked, n.name), mask: hexToBytesFrom(n.mask, n.name) })),
  };
}

describe.skipIf(!available || !procMem)("the cold key never enters the memory of the process that asks for a signature", () => {
  let emulator: AwsEmulator;

  beforeAll(async () => {
    emulator = await startAwsEmulator();
    const client = new SecretsManagerClient(awsClientSettings({ region: REGION, endpoint: emulator.endpoint }));
    for (const name of [SECRET, CONTROL]) await client.send(new CreateSecretCommand({ Name: name }));
    client.destroy();
  });

  afterAll(async () => {
    await emulator?.stop();
  });

  it("after signing an op cert, neither the seed nor its SHA-512 expansion is anywhere in this process", async () => {
    const key = coldKeyMadeElsewhere(emulator.endpoint, SECRET);
    const control = coldKeyMadeElsewhere(emulator.endpoint, CONTROL);
    const kes = generateKesKey();
    wipe(kes.signingKey);
    const cert = await issueOpcertWithColdKeySecret(
      { region: REGION, endpoint: emulator.endpoint },
      { secretId: SECRET, coldVerificationKey: key.coldVerificationKey, kesVerificationKey: kes.verificationKey, counter: 7, kesPeriod: 1234 },
    );
    expect(verifyOperationalCertificate(cert, key.coldVerificationKey)).toBe(true);

    // The control: read in this process and wiped, as the in-process signing did.
    const store = new SecretsManagerSecretStore({ region: REGION, endpoint: emulator.endpoint });
    wipe(readColdSigningKey((await store.get(CONTROL)).value, "control secret"));

    const search = searchOwnMemory([...key.needles, ...control.needles.map((n) => ({ ...n, name: `control: ${n.name}` }))]);
    expect(search.bytesRead).toBeGreaterThan(16 << 20);
    expect(search.found.map((f) => f.name)).toContain("control: the 32-byte seed");
    expect(search.found.filter((f) => !f.name.startsWith("control: "))).toEqual([]);
  }, 60_000);
});
