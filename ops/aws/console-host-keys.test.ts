import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostKeysFromConsole } from "./console-host-keys";

const dir = mkdtempSync(join(tmpdir(), "console-keys-"));
function publicKey(name: string, type: string): string {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", join(dir, name)]);
  return readFileSync(join(dir, `${name}.pub`), "utf8").trim();
}

describe("host keys from the EC2 console", () => {
  const ed = publicKey("ed", "ed25519");
  const ec = publicKey("ec", "ecdsa");
  const console = (keys: string[]) =>
    ["[   12.3] cloud-init[612]: Cloud-init v. 22.4.2 running 'modules:final'", "-----BEGIN SSH HOST KEY FINGERPRINTS-----", "256 SHA256:abc root@ip (ED25519)", "-----END SSH HOST KEY FINGERPRINTS-----", "-----BEGIN SSH HOST KEY KEYS-----", ...keys, "-----END SSH HOST KEY KEYS-----", "login:"].join("\r\n");

  it("reads every key of cloud-init's block, with its type", () => {
    const keys = hostKeysFromConsole(console([ec, ed]));
    expect(keys.map((k) => k.keyType)).toEqual(["ecdsa-sha2-nistp256", "ssh-ed25519"]);
    expect(keys[1]!.key.toString("base64")).toBe(ed.split(" ")[1]);
  });

  it("takes the last boot's block, and ignores lines that are not keys or whose blob names another type", () => {
    const older = console([ec]);
    const forged = `ssh-ed25519 ${ec.split(" ")[1]} mislabelled`;
    expect(hostKeysFromConsole(`${older}\n${console([ed, forged, "garbage line"])}`).map((k) => k.keyType)).toEqual(["ssh-ed25519"]);
  });

  it("no block, no keys (moto's sample output, an instance still booting)", () => {
    expect(hostKeysFromConsole("Linux version 2.6.16-xenU\nBIOS-provided physical RAM map:")).toEqual([]);
  });
});
