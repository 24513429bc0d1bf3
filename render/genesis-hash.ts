/**
 * The hashes cardano-node checks a config's `…GenesisHash` against: Blake2b-256 of the file's bytes for the Shelley,
 * Alonzo and Conway genesis (cardano-node `Cardano/Node/Protocol/Shelley.hs` `readGenesis`), and of the Byron
 * genesis's canonical JSON — keys sorted, no whitespace — for Byron (`Cardano.Chain.Genesis` `readGenesisData`,
 * canonical-json's `renderCanonicalJSON`). The same rules as ops/pool/release-facts.py, which computes them on hosts.
 */
import { blake2b } from "@noble/hashes/blake2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

export type GenesisEra = "Byron" | "Shelley" | "Alonzo" | "Conway";

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

export function genesisFileHash(era: GenesisEra, bytes: Uint8Array | string): string {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const hashed = era === "Byron" ? new TextEncoder().encode(canonicalJson(JSON.parse(new TextDecoder().decode(data)))) : data;
  return bytesToHex(blake2b(hashed, { dkLen: 32 }));
}
