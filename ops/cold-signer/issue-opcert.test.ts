/**
 * The cold-key signer child against the Secrets Manager emulator: the cert it signs is byte for byte the one the
 * in-process signer (cardano-cli compatible) makes; a secret of another pool, a value that is no cold key and a
 * secret without a value each fail as the commands expect, without quoting the value; the child refuses to read
 * the key unless core dumps are off, hard limit included; and it runs with none of the operator's environment.
 */
import { spawnSync } from "node:child_process";
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../../lab/aws-emulator";
import { requireTool } from "../../test/support";
import { awsClientSettings } from "../aws/client-config";
import { SecretStoreError } from "../aws/secret-store";
import { encodeOperationalCertificate, generateColdKey, generateKesKey, issueOperationalCertificate, KeyMaterialError, writeColdSigningKey, writeTextEnvelope } from "../cardano";
import { OpsError } from "../remote/result";
import { issueOpcertWithColdKeySecret } from "./issue-opcert";
import { signerCommand, signerEnvironment } from "./launch";
import { parseSignerReply } from "./protocol";

const REGION = "eu-west-1";
const available = requireTool(emulatorAvailable(), "moto (the AWS emulator) is not installed for python3, so the cold-key signer test cannot run");
const SEED = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);

describe.skipIf(!available)("the cold-key signer child", () => {
  let emulator: AwsEmulator;
  let client: SecretsManagerClient;
  const target = () => ({ region: REGION, endpoint: emulator.endpoint });
  const cold = generateColdKey(SEED);
  const kes = generateKesKey(new Uint8Array(32).fill(9));

  async function secret(name: string, value?: string): Promise<string> {
    await client.send(new CreateSecretCommand({ Name: name }));
    if (value !== undefined) await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    return name;
  }

  beforeAll(async () => {
    emulator = await startAwsEmulator();
    client = new SecretsManagerClient(awsClientSettings(target()));
  });

  afterAll(async () => {
    client?.destroy();
    await emulator?.stop();
  });

  it("signs the same cert bytes as the in-process signer", async () => {
    const id = await secret("same/cold/signing-key", writeColdSigningKey(cold.signingKey));
    const cert = await issueOpcertWithColdKeySecret(target(), { secretId: id, coldVerificationKey: cold.verificationKey, kesVerificationKey: kes.verificationKey, counter: 5, kesPeriod: 812 });
    const expected = issueOperationalCertificate({ kesVerificationKey: kes.verificationKey, coldSigningKey: cold.signingKey, counter: 5, kesPeriod: 812 });
    expect(Buffer.from(encodeOperationalCertificate(cert)).toString("hex")).toBe(Buffer.from(encodeOperationalCertificate(expected)).toString("hex"));
  });

  it("refuses another pool's key, naming it as the commands did", async () => {
    const other = generateColdKey(new Uint8Array(32).fill(3));
    const id = await secret("other/cold/signing-key", writeColdSigningKey(other.signingKey));
    const signing = issueOpcertWithColdKeySecret(target(), { secretId: id, coldVerificationKey: cold.verificationKey, kesVerificationKey: kes.verificationKey, counter: 5, kesPeriod: 812 });
    await expect(signing).rejects.toBeInstanceOf(OpsError);
    await expect(signing).rejects.toThrow(/^the cold key secret does not belong to the counter secret's pool$/);
  });

  it("a value that is no cold key is a KeyMaterialError about the secret, quoting none of it", async () => {
    const value = writeTextEnvelope("StakePoolSigningKey_ed25519", "", new Uint8Array([0x58, 0x10, ...new Uint8Array(16).fill(0xab)]));
    const id = await secret("short/cold/signing-key", value);
    const error = await issueOpcertWithColdKeySecret(target(), { secretId: id, coldVerificationKey: cold.verificationKey, kesVerificationKey: kes.verificationKey, counter: 1, kesPeriod: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyMaterialError);
    expect((error as Error).message).toMatch(/^cold signing key secret: cold signing key must be a CBOR byte string of 32 bytes/);
    expect((error as Error).message).not.toContain("abab");
    const notJson = await secret("text/cold/signing-key", "not json 5820abcdef");
    const second = await issueOpcertWithColdKeySecret(target(), { secretId: notJson, coldVerificationKey: cold.verificationKey, kesVerificationKey: kes.verificationKey, counter: 1, kesPeriod: 1 }).catch((e: unknown) => e);
    expect((second as Error).message).toBe("cold signing key secret: expected a text envelope of type StakePoolSigningKey_ed25519, got text that is not JSON");
  });

  it("a secret without a value is a SecretStoreError naming it, as the store's own", async () => {
    const id = await secret("empty/cold/signing-key");
    const error = await issueOpcertWithColdKeySecret(target(), { secretId: id, coldVerificationKey: cold.verificationKey, kesVerificationKey: kes.verificationKey, counter: 1, kesPeriod: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretStoreError);
    expect((error as Error).message).toMatch(/^secret empty\/cold\/signing-key: not found in the emulator at .*, or it has no value yet/);
  });

  /** The child started as the launcher starts it, but with `limits` for the shell's ulimit instead of `-c 0`. */
  function childUnder(limits: string, request: string) {
    const { args } = signerCommand();
    const script = args[1]!.replace("ulimit -c 0", limits);
    const run = spawnSync("/bin/sh", ["-c", script, ...args.slice(2)], { input: request, encoding: "utf8", env: signerEnvironment() });
    return { status: run.status, reply: parseSignerReply(run.stdout) };
  }

  it("will not read the key unless core dumps are off, the hard limit too", () => {
    const request = JSON.stringify({ not: "read" });
    expect(childUnder("ulimit -S -c unlimited", request)).toEqual({ status: 1, reply: { ok: false, failure: "refused", message: expect.stringMatching(/^core dumps are not off \(core file size limit unlimited\/unlimited\)/) } });
    expect(childUnder("ulimit -S -c 0", request)).toEqual({ status: 1, reply: { ok: false, failure: "refused", message: expect.stringMatching(/^core dumps are not off \(core file size limit 0\/unlimited\)/) } });
    // With both at 0 it goes on, to the request (malformed here).
    expect(childUnder("ulimit -c 0", request)).toEqual({ status: 1, reply: { ok: false, failure: "refused", message: "the request names no AWS region" } });
  });

  it("gets none of the operator's environment beyond what Node needs", () => {
    const env = signerEnvironment({ PATH: "/usr/bin", LANG: "C.UTF-8", AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "s", AWS_PROFILE: "ops", POOL_OPS_IDENTITY_PASSPHRASE_FILE: "/p", NODE_OPTIONS: "--require x", SSH_AUTH_SOCK: "/s" });
    expect(env).toEqual({ PATH: "/usr/bin", LANG: "C.UTF-8" });
  });
});
