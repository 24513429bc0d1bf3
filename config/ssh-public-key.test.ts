import { describe, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TEST_AUTHORIZED_KEY } from "../test/pool-fixtures";
import { tempDir } from "../test/support";
import { parsePoolConfig, PoolConfigError } from "./load";
import { parseSshPublicKey } from "./ssh-public-key";

function keygen(type: string, bits?: number): { publicKey: string; privateKey: string } {
  const dir = tempDir("ssh-key");
  const file = join(dir, "key");
  execFileSync("ssh-keygen", ["-q", "-t", type, ...(bits ? ["-b", String(bits)] : []), "-N", "", "-C", "op@laptop", "-f", file]);
  return { publicKey: readFileSync(`${file}.pub`, "utf8").trim(), privateKey: readFileSync(file, "utf8") };
}

function problemsWith(authorizedKeys: unknown): string[] {
  try {
    parsePoolConfig(
      {
        name: "testpool",
        region: "eu-west-1",
        availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        bastion: { adminCidrs: ["203.0.113.0/24"] },
        ssh: authorizedKeys === undefined ? undefined : { authorizedKeys },
      },
      "pool.yaml",
    );
    return [];
  } catch (error) {
    if (error instanceof PoolConfigError) return [...error.problems];
    throw error;
  }
}

describe("ssh.authorizedKeys", () => {
  test("ed25519, ECDSA and RSA ≥ 2048 public keys are accepted, with the fingerprint ssh-keygen prints", () => {
    for (const [type, bits] of [["ed25519"], ["ecdsa", 256], ["rsa", 3072]] as const) {
      const { publicKey } = keygen(type, bits);
      const parsed = parseSshPublicKey(publicKey);
      expect(typeof parsed, publicKey).toBe("object");
      const printed = execFileSync("ssh-keygen", ["-lf", "-"], { input: publicKey, encoding: "utf8" }).split(" ")[1];
      expect(parsed).toMatchObject({ fingerprint: printed, comment: "op@laptop" });
    }
    expect(problemsWith([TEST_AUTHORIZED_KEY])).toEqual([]);
  });

  test("a config without keys is refused: nobody could log in", () => {
    expect(problemsWith(undefined)).toEqual([expect.stringMatching(/^ssh: expected an ssh section with authorizedKeys/)]);
    expect(problemsWith([])).toEqual([expect.stringMatching(/^ssh\.authorizedKeys: expected at least one OpenSSH public key/)]);
  });

  test("a private key is refused and never echoed back", () => {
    const { privateKey } = keygen("ed25519");
    const problems = problemsWith([privateKey]);
    expect(problems).toEqual([expect.stringMatching(/^ssh\.authorizedKeys\[0\]: this is a private key: give the public key/)]);
    expect(problems.join("\n")).not.toContain(privateKey.split("\n")[1]!.slice(0, 20));
  });

  test("wrong type, corrupt blob, DSA and short RSA keys are refused naming the entry", () => {
    const ed = keygen("ed25519").publicKey;
    const [, blob] = ed.split(" ");
    expect(problemsWith([`ssh-rsa ${blob}`])).toEqual([expect.stringMatching(/^ssh\.authorizedKeys\[0\]: the key blob does not hold a ssh-rsa key/)]);
    expect(problemsWith([`ssh-ed25519 ${blob!.slice(0, 32)}`])[0]).toMatch(/^ssh\.authorizedKeys\[0\]: the ssh-ed25519 key blob is truncated/);
    expect(problemsWith([ed, "ssh-dss AAAAB3NzaC1kc3M="])).toEqual([expect.stringMatching(/^ssh\.authorizedKeys\[1\]: DSA keys are no longer accepted/)]);
    expect(problemsWith([`command="x" ${ed}`])[0]).toMatch(/unknown key type "command=\\"x\\"": expected one of ssh-ed25519/);
    expect(problemsWith([keygen("rsa", 1024).publicKey])[0]).toMatch(/an RSA key of 1024 bits is too short/);
    expect(problemsWith(["ssh-ed25519 not*base64"])[0]).toMatch(/not base64/);
  });
});
