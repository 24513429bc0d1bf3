/**
 * `pool-ops keys import` and `show` against the real Secrets Manager API of the moto emulator (fresh server on a
 * free loopback port), through the commander wiring as an operator runs them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../../lab/aws-emulator";
import { createLeaseTable } from "../../test/lease-table";
import { requireTool } from "../../test/support";
import { awsClientSettings } from "../aws/client-config";
import { SecretsManagerSecretStore } from "../aws/secret-store";
import { poolSecretNames } from "../../config/names";
import { LeaseTable } from "../lease/lease-table";
import { takeLease } from "../lease/take";
import { generateKeySet, keysCommand, nodeKeysIo, type KeySummary } from "./keys";

const REGION = "us-east-1";
const POOL = "sandstone";
const available = requireTool(emulatorAvailable(), "moto (the AWS emulator) is not installed for python3, so the Secrets Manager emulator test cannot run");

describe.skipIf(!available)("keys import / show on the Secrets Manager emulator", () => {
  let emulator: AwsEmulator;
  let dir: string;
  const names = poolSecretNames(POOL);

  beforeAll(async () => {
    emulator = await startAwsEmulator();
    const client = new SecretsManagerClient(awsClientSettings({ region: REGION, endpoint: emulator.endpoint }));
    // As the security stack does: the secrets exist, without a value.
    for (const id of Object.values(names)) await client.send(new CreateSecretCommand({ Name: id }));
    client.destroy();
    // And the pool-wide lease's table, which import takes before its puts.
    await createLeaseTable(emulator.endpoint, REGION, POOL);
    dir = join(mkdtempSync(join(tmpdir(), "pool-ops-keys-int-")), "keys");
    await generateKeySet({ network: "preview", outDir: dir }, { io: nodeKeysIo, now: () => new Date() });
  });

  afterAll(async () => {
    await emulator?.stop();
    if (dir) rmSync(join(dir, ".."), { recursive: true, force: true });
  });

  async function run(args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
    let out = "";
    let err = "";
    const before = process.exitCode;
    process.exitCode = 0;
    const cmd = keysCommand({ stdout: (t) => (out += t), stderr: (t) => (err += t) });
    cmd.exitOverride();
    await cmd.parseAsync(args, { from: "user" });
    const exitCode = Number(process.exitCode ?? 0);
    process.exitCode = before;
    return { out, err, exitCode };
  }

  it("show before import says the secret has no value yet", async () => {
    const r = await run(["show", "--pool", POOL, "--region", REGION, "--endpoint", emulator.endpoint, "--network", "preview"]);
    expect(r.exitCode).toBe(1);
    expect(r.err).toMatch(/^error: secret sandstone\/hot\/opcert: not found in the emulator at .*, or it has no value yet/);
  });

  it("dry run validates and puts nothing", async () => {
    const r = await run(["import", "--dir", dir, "--pool", POOL, "--region", REGION, "--endpoint", emulator.endpoint, "--dry-run"]);
    expect(r.exitCode).toBe(0);
    expect(r.out).toMatch(/^would put the key set of pool1/);
    const store = new SecretsManagerSecretStore({ region: REGION, endpoint: emulator.endpoint });
    await expect(store.get(names.coldSigningKey)).rejects.toThrow(/no value yet/);
  });

  it("import while another operator holds the pool's lease: refused with exit 4 naming the holder, nothing put", async () => {
    const table = new LeaseTable({ region: REGION, endpoint: emulator.endpoint }, POOL);
    const other = await takeLease(table, { command: "rotate-kes", holder: { user: "bob", host: "desk", pid: 777 } });
    try {
      const r = await run(["import", "--dir", dir, "--pool", POOL, "--region", REGION, "--endpoint", emulator.endpoint, "--network", "preview"]);
      expect(r.exitCode).toBe(4);
      expect(r.err).toMatch(/^error: take the pool's lease: the pool's lease \(DynamoDB sandstone-pool-ops-lease\) is held by bob@desk pid 777 running rotate-kes since .*; nothing was changed\n  remedy: /);
      const store = new SecretsManagerSecretStore({ region: REGION, endpoint: emulator.endpoint });
      await expect(store.get(names.coldSigningKey)).rejects.toThrow(/no value yet/);
    } finally {
      await table.deleteIfHeldBy(other.token);
      table.close();
    }
  });

  it("import puts the five secrets and show reads the same summary as from the files", async () => {
    const r = await run(["import", "--dir", dir, "--pool", POOL, "--region", REGION, "--endpoint", emulator.endpoint, "--network", "preview", "--json"]);
    expect(r.err).toBe("");
    expect(r.exitCode).toBe(0);
    const result = JSON.parse(r.out) as { entries: { secretId: string; versionId: string }[]; reminder: string };
    expect(result.entries.map((e) => e.secretId)).toEqual([
      names.opcertCounter, names.coldSigningKey, names.kesSigningKey, names.vrfSigningKey, names.opcert,
    ]);
    expect(result.entries.every((e) => e.versionId.length > 0)).toBe(true);
    expect(result.reminder).toMatch(/shred -u/);
    // It held the pool's lease while it put them, and released it.
    const table = new LeaseTable({ region: REGION, endpoint: emulator.endpoint }, POOL);
    expect(await table.read()).toBeUndefined();
    table.close();

    const store = new SecretsManagerSecretStore({ region: REGION, endpoint: emulator.endpoint });
    expect((await store.get(names.kesSigningKey)).value).toBe(readFileSync(join(dir, "kes.skey"), "utf8"));
    expect((await store.get(names.opcert)).value).toBe(readFileSync(join(dir, "node.cert"), "utf8"));

    const fromSecrets = await run(["show", "--pool", POOL, "--region", REGION, "--endpoint", emulator.endpoint, "--network", "preview", "--json"]);
    const fromFiles = await run(["show", "--dir", dir, "--network", "preview", "--json"]);
    const a = JSON.parse(fromSecrets.out) as KeySummary;
    const b = JSON.parse(fromFiles.out) as KeySummary;
    expect({ ...a, source: "", opcert: { ...a.opcert, daysLeft: 0 } }).toEqual({ ...b, source: "", opcert: { ...b.opcert, daysLeft: 0 } });
    expect(a.counterNext).toBe(1);
    expect(a.opcert.status).toBe("valid");
    const human = await run(["show", "--pool", POOL, "--region", REGION, "--endpoint", emulator.endpoint, "--network", "preview"]);
    expect(human.out).toMatch(/^source {12}secrets of pool sandstone\n/);
    expect(human.out).not.toContain(JSON.parse(readFileSync(join(dir, "cold.skey"), "utf8")).cborHex.slice(4));
  });

  it("putting into a secret the security stack did not create fails with a remedy", async () => {
    const store = new SecretsManagerSecretStore({ region: REGION, endpoint: emulator.endpoint });
    await expect(store.put("other/hot/opcert", "{}")).rejects.toThrow(
      /^secret other\/hot\/opcert: does not exist in the emulator at .*: deploy the security stack first/,
    );
  });
});
