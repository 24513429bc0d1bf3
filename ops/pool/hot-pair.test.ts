import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { comparePairs, envelopeFingerprint, secretPairCopy } from "./hot-pair";
import { retirePreviousPairsScript } from "./retire-hot-keys";

const envelope = (hex: string) => JSON.stringify({ type: "KesSigningKey_ed25519_kes_2^6", description: "", cborHex: hex });
const sha = (hex: string) => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");

describe("hot pair fingerprints", () => {
  it("fingerprints a text envelope by its CBOR bytes, whatever its whitespace", () => {
    expect(envelopeFingerprint(envelope("5820aa"))).toBe(sha("5820aa"));
    expect(envelopeFingerprint(`  ${envelope("5820aa")}\n\n`)).toBe(sha("5820aa"));
  });
  it("gives no fingerprint for a missing secret or something that is not an envelope", () => {
    expect(envelopeFingerprint(undefined)).toBeUndefined();
    expect(envelopeFingerprint("not json")).toBeUndefined();
    expect(envelopeFingerprint(JSON.stringify({ cborHex: "xyz" }))).toBeUndefined();
    expect(envelopeFingerprint(JSON.stringify({ type: "x" }))).toBeUndefined();
  });
  it("the same pair everywhere agrees; one copy with another KES key or cert, or a missing file, does not — and says where", () => {
    const secrets = secretPairCopy(envelope("01"), envelope("02"));
    const leader = { where: "producer-1 (leader, active paths)", kes: sha("01"), cert: sha("02") };
    expect(comparePairs([leader, { ...leader, where: "producer-2" }, secrets]).same).toBe(true);
    const stale = comparePairs([leader, { where: "producer-2 (standby, held paths)", kes: sha("03"), cert: sha("02") }, secrets]);
    expect(stale.same).toBe(false);
    expect(stale.lines[1]).toBe(`producer-2 (standby, held paths): KES key ${sha("03").slice(0, 12)}, op cert ${sha("02").slice(0, 12)}`);
    expect(comparePairs([leader, { where: "producer-2" }, secrets]).same).toBe(false);
    expect(comparePairs([{ where: "a" }, { where: "b" }]).same).toBe(false);
  });
});

describe("retiring the previous pair", () => {
  it("removes every rotation's backups without following a planted link, and the .bak/.restore copies beside the credentials", () => {
    const script = retirePreviousPairsScript("/opt/cardano/backup", [{ kesKey: "/opt/cardano/keys/kes.skey", vrfKey: "/opt/cardano/keys/vrf.skey", opcert: "/opt/cardano/keys/node.cert" }]);
    expect(script).toContain("[ ! -L /opt/cardano/backup ]");
    expect(script).toContain("find -P /opt/cardano/backup -mindepth 1 -maxdepth 1 -name '*-rotate-kes' -exec rm -rf -- {} +");
    expect(script).toContain("rm -f -- /opt/cardano/keys/kes.skey.bak /opt/cardano/keys/kes.skey.restore /opt/cardano/keys/node.cert.bak /opt/cardano/keys/node.cert.restore");
    expect(script).not.toContain("vrf.skey");
  });
});
