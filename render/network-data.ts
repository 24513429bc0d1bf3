/**
 * Per-network facts the node's config and topology need, kept as data. Genesis hashes: iohk-nix `cardano-lib`
 * (mainnet-config.nix @094ef606, preprod-config.nix @01c21c3b, preview-config.nix @01279fab); the genesis files
 * themselves come with the node release baked into the golden image (`pool-ops image bake`), which checks them
 * against this table, as push-config checks every host's; the node itself refuses to start on a mismatch.
 * Recomputed from the iohk-nix genesis files @9de0011 (the 11.0.1 pin) with ops/pool/release-facts.py: equal.
 */
import type { CardanoNetwork } from "../config/networks";

export interface GenesisHashes {
  readonly Byron: string;
  readonly Shelley: string;
  readonly Alonzo: string;
  readonly Conway: string;
}

/**
 * What the pool checks a release against. Everything else a node needs from its network (RequiresNetworkMagic,
 * LastKnownBlockVersion, bootstrap peers, useLedgerAfterSlot, the peer snapshot) is taken from the release's own
 * `share/<network>/` files, never kept here (render/node-config.ts, render/topology.ts).
 */
export interface NetworkNodeData {
  /** Blake2b-256 of the Shelley/Alonzo/Conway files, of the Byron file's canonical JSON. */
  readonly genesisHashes: GenesisHashes;
}

export const NETWORK_NODE_DATA: Readonly<Record<CardanoNetwork, NetworkNodeData>> = {
  mainnet: {
    genesisHashes: {
      Byron: "5f20df933584822601f9e3f8c024eb5eb252fe8cefb24d1317dc3d432e940ebb",
      Shelley: "1a3be38bcbb7911969283716ad7aa550250226b76a61fc51cc9a9a35d9276d81",
      Alonzo: "7e94a15f55d1e82d10f09203fa1d40f8eede58fd8066542cf6566008068ed874",
      Conway: "15a199f895e461ec0ffc6dd4e4028af28a492ab4e806d39cb674c88f7643ef62",
    },
  },
  preprod: {
    genesisHashes: {
      Byron: "d4b8de7a11d929a323373cbab6c1a9bdc931beffff11db111cf9d57356ee1937",
      Shelley: "162d29c4e1cf6b8a84f2d692e67a3ac6bc7851bc3e6e4afe64d15778bed8bd86",
      Alonzo: "7e94a15f55d1e82d10f09203fa1d40f8eede58fd8066542cf6566008068ed874",
      Conway: "0eb6adaec3fcb1fe286c1b4ae0da2a117eafc3add51e17577d36dd39eddfc3db",
    },
  },
  preview: {
    genesisHashes: {
      Byron: "83de1d7302569ad56cf9139a41e2e11346d4cb4a31c00142557b6ab3fa550761",
      Shelley: "363498d1024f84bb39d3fa9593ce391483cb40d479b87233f868d6e57c3a400d",
      Alonzo: "7e94a15f55d1e82d10f09203fa1d40f8eede58fd8066542cf6566008068ed874",
      Conway: "9cc5084f02e27210eacba47af0872e3dba8946ad9460b6072d793e1d2f3987ef",
    },
  },
};
