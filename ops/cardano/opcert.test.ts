import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import {
  decodeOperationalCertificate,
  encodeOperationalCertificate,
  issueOperationalCertificate,
  opcertSignable,
  readOperationalCertificate,
  readVerifiedOperationalCertificate,
  verifyOperationalCertificate,
  writeOperationalCertificate,
} from "./opcert";
import { generateColdKey } from "./cold-key";
import { generateKesKey } from "./kes";
import { writeTextEnvelope } from "./envelope";
import { encodeCbor } from "./cbor";

// Signed op cert from vacuumlabs/cardano-hw-cli, test/integration/ledger/node/opCert.ts (opcert1: signed by
// the Ledger's pool cold key m/1853'/1815'/0'/0', KES vk f706…, counter 1, KES period 251).
const HW_CLI_OPCERT =
  "82845820f70601c4de155e67797e057c07fb768b5590b2241b05ec30235a85b71e2ae8580118fb5840b44fcc4505aee4c93a71" +
  "6014ec709d17b28e0c95637384b78d2f8a4cebb92d1e01b54ce952e11771bbeaceda0eaf7a660e5c416f357bdec94e4ce2977997" +
  "d20458203d7e84dca8b4bc322401a2cc814af7c84d2992a22f99554fe340d7df7910768d";
const HW_CLI_COLD_VK = "3d7e84dca8b4bc322401a2cc814af7c84d2992a22f99554fe340d7df7910768d";

describe("op cert from cardano-hw-cli's integration tests", () => {
  const cert = decodeOperationalCertificate(hexToBytes(HW_CLI_OPCERT), "hw-cli opcert1");

  it("decodes to the published fields", () => {
    expect(bytesToHex(cert.kesVerificationKey)).toBe("f70601c4de155e67797e057c07fb768b5590b2241b05ec30235a85b71e2ae858");
    expect(cert.counter).toBe(1);
    expect(cert.kesPeriod).toBe(251);
    expect(bytesToHex(cert.coldVerificationKey)).toBe(HW_CLI_COLD_VK);
  });

  it("verifies against its cold key, and re-encodes to the same bytes", () => {
    expect(verifyOperationalCertificate(cert, hexToBytes(HW_CLI_COLD_VK))).toBe(true);
    expect(bytesToHex(encodeOperationalCertificate(cert))).toBe(HW_CLI_OPCERT);
  });

  it("fails when any byte of the signed fields or the signature is flipped", () => {
    const bytes = hexToBytes(HW_CLI_OPCERT);
    // offsets: kes vk 4..35, counter 36, period 38, signature 41..104, cold vk 107..138
    for (const offset of [4, 35, 36, 38, 41, 104, 107, 138]) {
      const flipped = bytes.slice();
      flipped[offset]! ^= 0x01;
      expect(verifyOperationalCertificate(decodeOperationalCertificate(flipped, "flipped"))).toBe(false);
    }
  });

  it("is rejected against another cold key", () => {
    expect(verifyOperationalCertificate(cert, generateColdKey().verificationKey)).toBe(false);
  });
});

describe("issuing op certs", () => {
  const cold = generateColdKey();
  const kes = generateKesKey();

  it("signs kes_vk ‖ counter u64 BE ‖ period u64 BE", () => {
    const signable = opcertSignable(kes.verificationKey, 258, 0x0102030405);
    expect(bytesToHex(signable.subarray(32))).toBe("0000000000000102" + "0000000102030405");
  });

  it("issues a cert that verifies, with minimal-length integers, and round-trips through its envelope", () => {
    const cert = issueOperationalCertificate({
      kesVerificationKey: kes.verificationKey,
      coldSigningKey: cold.signingKey,
      counter: 23,
      kesPeriod: 1510,
    });
    expect(verifyOperationalCertificate(cert, cold.verificationKey)).toBe(true);
    const cbor = bytesToHex(encodeOperationalCertificate(cert));
    expect(cbor.slice(0, 80)).toBe(`82845820${bytesToHex(kes.verificationKey)}` + "17" + "1905e6");
    const text = writeOperationalCertificate(cert);
    expect(text).toMatch(/^\{\n {4}"type": "NodeOperationalCertificate",\n {4}"description": "",\n {4}"cborHex": "8284/);
    const back = readVerifiedOperationalCertificate(text, "node.cert", cold.verificationKey);
    expect(back).toEqual(cert);
    expect(writeOperationalCertificate(back)).toBe(text);
  });

  it("is deterministic (RFC 8032): same inputs, same bytes", () => {
    const input = { kesVerificationKey: kes.verificationKey, coldSigningKey: cold.signingKey, counter: 0, kesPeriod: 7 };
    expect(encodeOperationalCertificate(issueOperationalCertificate(input))).toEqual(
      encodeOperationalCertificate(issueOperationalCertificate(input)),
    );
  });

  it("refuses, naming the file, a cert of another cold key or with a bad signature", () => {
    const cert = issueOperationalCertificate({
      kesVerificationKey: kes.verificationKey,
      coldSigningKey: cold.signingKey,
      counter: 1,
      kesPeriod: 2,
    });
    const other = generateColdKey();
    expect(() => readVerifiedOperationalCertificate(writeOperationalCertificate(cert), "node.cert", other.verificationKey)).toThrow(
      "node.cert: op cert was issued for a different cold key",
    );
    const forged = { ...cert, kesPeriod: 3 };
    expect(() => readVerifiedOperationalCertificate(writeOperationalCertificate(forged), "node.cert")).toThrow(
      "node.cert: op cert signature does not verify against its cold verification key",
    );
  });

  it("reports malformed certs with the source name", () => {
    const bad = writeTextEnvelope("NodeOperationalCertificate", "", encodeCbor([[new Uint8Array(32), 1, 2], new Uint8Array(32)]));
    expect(() => readOperationalCertificate(bad, "node.cert")).toThrow("node.cert: op cert body must be a CBOR array of 4 items");
    const notCbor = writeTextEnvelope("NodeOperationalCertificate", "", Uint8Array.of(0x82, 0x84));
    expect(() => readOperationalCertificate(notCbor, "node.cert")).toThrow(/^node\.cert: op cert is not valid CBOR/);
  });
});
