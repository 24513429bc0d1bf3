/** Choosing and opening the operator's login, without hosts: key files, passphrases, the agent's key list. */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseLogin, loginIdentityId, openKeyFile, openSshPublicBlob, publicFingerprintOfKeyFile, readPassphraseFile } from "./operator-identity";
import { fingerprintOf } from "./known-hosts";
import { parseIdentitiesAnswer, usableAgentKey } from "./ssh-agent-keys";

const dir = mkdtempSync(join(tmpdir(), "operator-identity-"));
function keygen(name: string, passphrase = "", type = "ed25519"): { path: string; fingerprint: string } {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-f", path]);
  return { path, fingerprint: execFileSync("ssh-keygen", ["-lf", `${path}.pub`], { encoding: "utf8" }).split(" ")[1]! };
}

describe("operator login", () => {
  const plain = keygen("plain");
  const locked = keygen("locked", "correct horse");

  it("reads an encrypted key's fingerprint from its OpenSSH header, without the passphrase", () => {
    expect(publicFingerprintOfKeyFile(locked.path)).toBe(locked.fingerprint);
    expect(publicFingerprintOfKeyFile(plain.path)).toBe(plain.fingerprint);
    expect(openSshPublicBlob("not a key")).toBeUndefined();
  });

  it("opens a passphrase-protected key with the right passphrase only, and never with none", async () => {
    await expect(openKeyFile(locked.path, { askPassphrase: async () => "correct horse" })).resolves.toMatchObject({ kind: "key", fingerprint: locked.fingerprint });
    await expect(openKeyFile(locked.path, { askPassphrase: async () => "wrong" })).rejects.toMatchObject({ message: expect.stringMatching(/the passphrase does not open this key/) });
    await expect(openKeyFile(locked.path, { askPassphrase: undefined })).rejects.toMatchObject({ message: expect.stringMatching(/no terminal to ask on/) });
    await expect(openKeyFile(`${plain.path}.pub`)).rejects.toMatchObject({ message: expect.stringMatching(/holds no private key/), remedy: "give the private key file, not the .pub" });
  });

  it("a passphrase file must be its owner's alone", () => {
    const file = join(dir, "pass");
    writeFileSync(file, "correct horse\nignored\n", { mode: 0o600 });
    expect(readPassphraseFile(file)).toBe("correct horse");
    chmodSync(file, 0o640);
    expect(() => readPassphraseFile(file)).toThrow(/readable by others \(mode 640\)/);
  });

  it("chooses --identity, else the ssh-agent, else ~/.ssh/id_*; names the key without opening it", async () => {
    const home = join(dir, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    expect(await chooseLogin({ identityFile: plain.path, sshAuthSock: "/nonexistent", home })).toEqual({ kind: "key-file", path: plain.path });
    await expect(chooseLogin({ sshAuthSock: undefined, home })).rejects.toMatchObject({ message: expect.stringMatching(/no SSH identity/) });
    await expect(chooseLogin({ sshAuthSock: join(dir, "no-agent.sock"), home })).rejects.toMatchObject({ message: expect.stringMatching(/cannot reach the ssh-agent/) });
    execFileSync("cp", [locked.path, join(home, ".ssh", "id_ed25519")]);
    const source = await chooseLogin({ sshAuthSock: join(dir, "no-agent.sock"), home });
    expect(source).toEqual({ kind: "key-file", path: join(home, ".ssh", "id_ed25519") });
    const opened = () => Promise.reject(new Error("must not be opened"));
    expect(await loginIdentityId(source, opened)).toBe(`key:${locked.fingerprint}`);
  });

  it("parses an agent's key list, FIDO keys included, and tells which ssh2 can use", () => {
    const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const blob = (type: string) => Buffer.concat([str(Buffer.from(type)), str(Buffer.alloc(32, 7))]);
    const body = Buffer.concat([Buffer.from([0, 0, 0, 2]), str(blob("sk-ssh-ed25519@openssh.com")), str(Buffer.from("yubikey")), str(blob("ssh-ed25519")), str(Buffer.from("laptop"))]);
    const keys = parseIdentitiesAnswer(body);
    expect(keys.map((k) => [k.keyType, k.comment, usableAgentKey(k)])).toEqual([
      ["sk-ssh-ed25519@openssh.com", "yubikey", false],
      ["ssh-ed25519", "laptop", true],
    ]);
    expect(keys[1]!.fingerprint).toBe(fingerprintOf(blob("ssh-ed25519")));
    expect(() => parseIdentitiesAnswer(body.subarray(0, 20))).toThrow(/truncated/);
  });
});
