import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { formatTextEnvelope, readTextEnvelope, writeTextEnvelope } from "./envelope";
import {
  coldVerificationKey,
  generateColdKey,
  readColdSigningKey,
  readColdVerificationKey,
  writeColdSigningKey,
  writeColdVerificationKey,
} from "./cold-key";
import { generateVrfKey, readVrfSigningKey, readVrfVerificationKey, writeVrfSigningKey, writeVrfVerificationKey } from "./vrf";
import { assertCounterAcceptable, readOpcertCounter, writeOpcertCounter } from "./counter";
import { poolId, poolIdBech32, poolIdHex } from "./pool-id";
import { KeyMaterialError } from "./errors";
import { wipe } from "./bytes";
import { bech32 } from "@scure/base";

describe("text envelopes", () => {
  it("are written as cardano-cli writes them: 4-space JSON, type/description/cborHex, trailing newline", () => {
    expect(writeTextEnvelope("T", "D", Uint8Array.of(0x58, 0x20))).toBe(
      '{\n    "type": "T",\n    "description": "D",\n    "cborHex": "5820"\n}\n',
    );
    expect(formatTextEnvelope({ cborHex: "00", description: "", type: "X" } as never)).toBe(
      '{\n    "type": "X",\n    "description": "",\n    "cborHex": "00"\n}\n',
    );
  });

  it("name the source in every read error", () => {
    expect(() => readTextEnvelope("not json", "a.skey", "T")).toThrow(
      "a.skey: expected a text envelope of type T, got text that is not JSON",
    );
    expect(() => readTextEnvelope("[]", "a.skey", "T")).toThrow(/^a\.skey: /);
    expect(() => readTextEnvelope('{"type":"T"}', "a.skey", "T")).toThrow(/^a\.skey: .*"cborHex"/);
    expect(() => readTextEnvelope('{"type":"T","cborHex":"5x"}', "a.skey", "T")).toThrow(/^a\.skey \(cborHex\): /);
  });
});

describe("cold keys", () => {
  const cold = generateColdKey();

  it("round-trip through their envelopes byte-exactly", () => {
    const sk = writeColdSigningKey(cold.signingKey);
    expect(JSON.parse(sk)).toEqual({
      type: "StakePoolSigningKey_ed25519",
      description: "Stake Pool Operator Signing Key",
      cborHex: `5820${bytesToHex(cold.signingKey)}`,
    });
    expect(readColdSigningKey(sk, "cold.skey")).toEqual(cold.signingKey);
    expect(writeColdSigningKey(readColdSigningKey(sk, "cold.skey"))).toBe(sk);
    const vk = writeColdVerificationKey(cold.verificationKey);
    expect(readColdVerificationKey(vk, "cold.vkey")).toEqual(coldVerificationKey(cold.signingKey));
    expect(writeColdVerificationKey(readColdVerificationKey(vk, "cold.vkey"))).toBe(vk);
  });

  it("refuse a VRF key given as a cold key, naming both types", () => {
    const vrf = writeVrfSigningKey(generateVrfKey().signingKey);
    expect(() => readColdSigningKey(vrf, "cold.skey")).toThrow(KeyMaterialError);
    expect(() => readColdSigningKey(vrf, "cold.skey")).toThrow(
      "cold.skey: expected a text envelope of type StakePoolSigningKey_ed25519, got VrfSigningKey_PraosVRF",
    );
  });

  it("derive the RFC 8032 public key (RFC 8032 test 1)", () => {
    const sk = hexToBytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    expect(bytesToHex(coldVerificationKey(sk))).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  });
});

describe("VRF keys", () => {
  it("are seed ‖ public key and round-trip", () => {
    const vrf = generateVrfKey();
    expect(vrf.signingKey.length).toBe(64);
    expect(vrf.signingKey.subarray(32)).toEqual(vrf.verificationKey);
    const sk = writeVrfSigningKey(vrf.signingKey);
    expect(JSON.parse(sk).cborHex.slice(0, 4)).toBe("5840");
    expect(readVrfSigningKey(sk, "vrf.skey")).toEqual(vrf.signingKey);
    expect(writeVrfSigningKey(readVrfSigningKey(sk, "vrf.skey"))).toBe(sk);
    const vk = writeVrfVerificationKey(vrf.verificationKey);
    expect(readVrfVerificationKey(vk, "vrf.vkey")).toEqual(vrf.verificationKey);
    expect(writeVrfVerificationKey(readVrfVerificationKey(vk, "vrf.vkey"))).toBe(vk);
  });

  it("refuse a signing key whose public half does not match its seed", () => {
    const vrf = generateVrfKey();
    vrf.signingKey[40]! ^= 1;
    expect(() => readVrfSigningKey(writeVrfSigningKey(vrf.signingKey), "vrf.skey")).toThrow(
      "vrf.skey: VRF signing key is inconsistent: its public half does not match its seed",
    );
  });
});

describe("op cert issue counter", () => {
  const cold = generateColdKey();

  it("is written as cardano-cli writes it and round-trips", () => {
    const text = writeOpcertCounter({ next: 5, coldVerificationKey: cold.verificationKey });
    expect(JSON.parse(text)).toEqual({
      type: "NodeOperationalCertificateIssueCounter",
      description: "Next certificate issue number: 5",
      cborHex: `82055820${bytesToHex(cold.verificationKey)}`,
    });
    expect(readOpcertCounter(text, "cold.counter")).toEqual({ next: 5, coldVerificationKey: cold.verificationKey });
    expect(JSON.parse(writeOpcertCounter({ next: 300, coldVerificationKey: cold.verificationKey })).cborHex).toMatch(
      /^8219012c5820/,
    );
  });

  it("follows the ledger rule m ≤ n ≤ m + 1 with a clear message", () => {
    expect(() => assertCounterAcceptable(4, 4, "cold.counter")).not.toThrow();
    expect(() => assertCounterAcceptable(5, 4, "cold.counter")).not.toThrow();
    expect(() => assertCounterAcceptable(3, 4, "cold.counter")).toThrow(
      /^cold\.counter: counter 3 is below the last issued counter 4/,
    );
    expect(() => assertCounterAcceptable(6, 4, "cold.counter")).toThrow(/more than one above/);
  });
});

describe("pool id", () => {
  // vacuumlabs/cardano-hw-cli test/integration/ledger/node/tx.ts, ordinary_CertificatePoolRetirement: a pool
  // retirement certificate for pool key hash dbfee466… witnessed by the poolCold0 key 3d7e84….
  const COLD_VK = hexToBytes("3d7e84dca8b4bc322401a2cc814af7c84d2992a22f99554fe340d7df7910768d");

  it("is Blake2b-224 of the cold verification key", () => {
    expect(poolIdHex(COLD_VK)).toBe("dbfee4665e58c8f8e9b9ff02b17f32e08a42c855476a5d867c2737b7");
  });

  it("is bech32 with prefix pool", () => {
    const id = poolIdBech32(COLD_VK);
    expect(id.startsWith("pool1")).toBe(true);
    const decoded = bech32.decode(id as `${string}1${string}`);
    expect(decoded.prefix).toBe("pool");
    expect(bech32.fromWords(decoded.words)).toEqual(poolId(COLD_VK));
  });
});

describe("wipe", () => {
  it("zeroes every array it is given", () => {
    const a = Uint8Array.of(1, 2, 3);
    const b = Uint8Array.of(4);
    wipe(a, undefined, b);
    expect([...a, ...b]).toEqual([0, 0, 0, 0]);
  });
});
