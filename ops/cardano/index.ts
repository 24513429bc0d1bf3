/** Cardano key material: pure, byte-exact with cardano-cli / cardano-node. No I/O. */
export * from "./errors";
export * from "./bytes";
export * from "./envelope";
export * from "./cbor";
export * from "./cold-key";
export * from "./vrf";
export * from "./counter";
export * from "./kes";
export * from "./opcert";
export * from "./pool-id";
export * from "./kes-period";
