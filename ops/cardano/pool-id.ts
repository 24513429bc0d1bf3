/** Pool id: Blake2b-224 of the cold verification key (cardano-ledger `KeyHash StakePool`), bech32 `pool1…` (CIP-5). */
import { blake2b } from "@noble/hashes/blake2.js";
import { bech32 } from "@scure/base";
import { bytesToHex, expectLength } from "./bytes";

export function poolId(coldVerificationKey: Uint8Array): Uint8Array {
  return blake2b(expectLength(coldVerificationKey, 32, "cold verification key", "cold verification key"), {
    dkLen: 28,
  });
}

export function poolIdHex(coldVerificationKey: Uint8Array): string {
  return bytesToHex(poolId(coldVerificationKey));
}

export function poolIdBech32(coldVerificationKey: Uint8Array): string {
  return bech32.encode("pool", bech32.toWords(poolId(coldVerificationKey)));
}
