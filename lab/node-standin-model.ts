/**
 * What the node stand-in checks at startup and reports, as functions (test tooling): each refuses what cardano-node
 * refuses, with the upstream file and function it models in lab/node-standin.md (the conformance table). Where the
 * stand-in cannot tell what the node does, it is stricter, and says so there.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { blake2b } from "@noble/hashes/blake2.js";
import { parse as parseYaml } from "yaml";
import { NETWORKS, type CardanoNetwork } from "../config/networks";
import { nodeVersionLine, type NodeVersionLine } from "../config/node-versions";
import { bytesToHex, equalBytes } from "../ops/cardano/bytes";
import { kesVerificationKey, readKesSigningKey } from "../ops/cardano/kes";
import { kesPeriodAt } from "../ops/cardano/kes-period";
import { readOperationalCertificate, verifyOperationalCertificate, type OperationalCertificate } from "../ops/cardano/opcert";
import { readVrfSigningKey } from "../ops/cardano/vrf";
import { genesisFileHash, type GenesisEra } from "../render/genesis-hash";

/** A startup refusal: the node prints the reason and exits non-zero. */
export class NodeRefusal extends Error {
  override name = "NodeRefusal";
}

export interface CredentialPaths {
  readonly kesKey: string;
  readonly vrfKey: string;
  readonly opcert: string;
}

export interface Credentials {
  readonly opcert: OperationalCertificate;
  readonly kesVerificationKeyHex: string;
  /** The op cert is past its KES periods: the node runs, but every forge attempt fails (Forge.StateUpdateError). */
  readonly expired: boolean;
}

export type CredentialCheck =
  | { readonly kind: "valid"; readonly credentials: Credentials }
  | { readonly kind: "missing"; readonly reason: string }
  | { readonly kind: "invalid"; readonly reason: string };

/** The parsed config with what the stand-in needs from it. */
export interface StandinConfig {
  readonly path: string;
  readonly raw: Record<string, unknown>;
  readonly network: CardanoNetwork;
  readonly line: NodeVersionLine;
  /** `PrometheusSimple [suffix] HOST PORT` from the default TraceOptions backends; none → no metrics served. */
  readonly prometheus?: { readonly host: string; readonly port: number; readonly suffix: boolean };
}

const GENESIS: readonly GenesisEra[] = ["Byron", "Shelley", "Alonzo", "Conway"];

/** Relative paths in a file resolve against the file's directory (POM.hs `adjustFilePaths`). */
function resolveFrom(file: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(file), path);
}

/**
 * Reads and checks the config as `Configuration/POM.hs` (`parseNodeConfigurationFP`, `makeNodeConfiguration`) and the
 * genesis readers do: required keys of the node line, every genesis file present, each hash as the config names it.
 */
export function readStandinConfig(path: string, version: string): StandinConfig {
  const line = nodeVersionLine(version);
  let raw: Record<string, unknown>;
  try {
    raw = parseYaml(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new NodeRefusal(`Error in creating the NodeConfiguration: ${path}: ${(error as Error).message}`);
  }
  if (!raw || typeof raw !== "object") throw new NodeRefusal(`Error in creating the NodeConfiguration: ${path}: not a mapping`);
  const missing = line.requiredConfigKeys.filter((key) => raw[key] === undefined || raw[key] === null);
  if (missing.length > 0) throw new NodeRefusal(`Error in creating the NodeConfiguration: key "${missing[0]}" not found (${path}; cardano-node ${line.line}.x requires ${missing.join(", ")})`);
  if (raw.LedgerDB && typeof raw.LedgerDB === "object") {
    const backend = (raw.LedgerDB as Record<string, unknown>).Backend;
    if (backend !== undefined && !line.ledgerBackends.includes(backend as never)) throw new NodeRefusal(`Error in creating the NodeConfiguration: Malformed LedgerDB Backend: ${String(backend)}`);
  }
  let magic: number | undefined;
  for (const era of GENESIS) {
    const file = resolveFrom(path, String(raw[`${era}GenesisFile`]));
    if (!existsSync(file)) throw new NodeRefusal(`${era} genesis file ${file}: does not exist`);
    const bytes = readFileSync(file);
    const expected = raw[`${era}GenesisHash`];
    const actual = genesisFileHash(era, bytes);
    if (typeof expected === "string" && expected !== actual) {
      throw new NodeRefusal(`Wrong ${era} genesis file: the actual hash is ${actual}, but the expected ${era} genesis hash given in the node configuration file is ${expected}`);
    }
    if (era === "Shelley") magic = (JSON.parse(bytes.toString("utf8")) as { networkMagic?: number }).networkMagic;
  }
  checkCheckpoints(path, raw);
  const network = (Object.keys(NETWORKS) as CardanoNetwork[]).find((n) => NETWORKS[n].networkMagic === magic);
  if (!network) throw new NodeRefusal(`the stand-in knows no network of magic ${String(magic)} (mainnet, preprod, preview)`);
  const backends = JSON.stringify(((raw.TraceOptions as Record<string, { backends?: unknown }> | undefined)?.[""]?.backends) ?? []);
  const simple = /PrometheusSimple( suffix)? ([0-9.]+) (\d+)/.exec(backends);
  return { path, raw, network, line, ...(simple ? { prometheus: { host: simple[2]!, port: Number(simple[3]), suffix: Boolean(simple[1]) } } : {}) };
}

/**
 * A `CheckpointsFile` the config names is read at startup (`Protocol/Cardano.hs` `mkSomeConsensusProtocolCardano` →
 * `Protocol/Checkpoints.hs` `readCheckpointsMap`): unreadable, a Blake2b-256 of its bytes other than
 * `CheckpointsFileHash`, or not `{"checkpoints": [{blockNo, hash}]}` — the node stops.
 */
function checkCheckpoints(configPath: string, raw: Record<string, unknown>): void {
  if (typeof raw.CheckpointsFile !== "string") return;
  const file = resolveFrom(configPath, raw.CheckpointsFile);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new NodeRefusal(`There was an error reading the checkpoints file: "${file}" Error: ${(error as Error).message}`);
  }
  const actual = bytesToHex(blake2b(bytes, { dkLen: 32 }));
  if (typeof raw.CheckpointsFileHash === "string" && raw.CheckpointsFileHash !== actual) {
    throw new NodeRefusal(`Hash mismatch for checkpoints file "${file}": the actual hash is ${actual}, but the expected hash given in the node configuration file is ${raw.CheckpointsFileHash}`);
  }
  let list: unknown;
  try {
    list = (JSON.parse(bytes.toString("utf8")) as { checkpoints?: unknown }).checkpoints;
  } catch (error) {
    list = (error as Error).message;
  }
  if (!Array.isArray(list) || !list.every((c) => typeof (c as { blockNo?: unknown }).blockNo === "number" && typeof (c as { hash?: unknown }).hash === "string")) {
    throw new NodeRefusal(`There was an error parsing the checkpoints file: "${file}" Error: expected {"checkpoints": [{"blockNo": …, "hash": …}]}`);
  }
}

/** Peers of a P2P topology; refused without a trustable source (`TopologyP2P.hs` `readTopologyFile`). */
export function readStandinTopology(path: string): string[] {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new NodeRefusal(`Cardano.Node.Configuration.Topology.readTopologyFile: ${path}: Is your topology file formatted correctly? ${(error as Error).message}`);
  }
  if (!Array.isArray(doc.localRoots)) throw new NodeRefusal(`Cardano.Node.Configuration.Topology.readTopologyFile: ${path}: Expecting P2P Topology file format (no localRoots)`);
  const peers: string[] = [];
  let trustable = Array.isArray(doc.bootstrapPeers) && doc.bootstrapPeers.length > 0;
  for (const group of [...(doc.localRoots as unknown[]), ...((doc.publicRoots as unknown[]) ?? [])]) {
    const g = group as { accessPoints?: { address: string; port?: number }[]; trustable?: boolean };
    for (const p of g.accessPoints ?? []) peers.push(`${p.address}:${p.port ?? 3001}`);
    if (g.trustable && (g.accessPoints ?? []).length > 0) trustable = true;
  }
  for (const p of (doc.bootstrapPeers as { address: string; port?: number }[] | null | undefined) ?? []) peers.push(`${p.address}:${p.port ?? 3001}`);
  if (!trustable) throw new NodeRefusal("You seem to have not configured any trustable peers. This is important in order for the node to make progress in bootstrap mode.");
  const snapshot = doc.peerSnapshotFile;
  if (typeof snapshot === "string" && !existsSync(resolveFrom(path, snapshot))) throw new NodeRefusal(`peer snapshot file ${resolveFrom(path, snapshot)}: does not exist`);
  return peers;
}

/**
 * The database marker (ouroboros-consensus `Node/DbMarker.hs` `checkDbMarker`): a non-empty directory without
 * `protocolMagicId` is refused; a marker of another network is refused; an empty or new directory gets the marker.
 */
export function checkDatabase(path: string, networkMagic: number): void {
  const marker = join(path, "protocolMagicId");
  if (existsSync(path) && !existsSync(marker) && readdirSync(path).length > 0) throw new NodeRefusal(`Missing "${marker}" but the folder was not empty`);
  if (existsSync(marker)) {
    const found = readFileSync(marker, "utf8").trim();
    if (found !== String(networkMagic)) throw new NodeRefusal(`Wrong protocolMagicId in "${marker}": ${found}, but expected: ${networkMagic}`);
    return;
  }
  writeFileSync(marker, String(networkMagic));
}

/** `Run.hs` `checkVRFFilePermissions`: any "other" bit refuses; group bits only warn. Returns the warning. */
export function checkVrfMode(path: string): string | undefined {
  const mode = statSync(path).mode;
  if (mode & 0o007) throw new NodeRefusal(`The VRF private key file at ${path} has "other" file permissions. Please remove all "other" file permissions.`);
  if (mode & 0o070) return `WARNING: The VRF private key file at ${path} has "group" file permissions. Please remove all "group" file permissions.`;
  return undefined;
}

/** Checks the three forging files as the node would before forging with them. */
export function checkCredentials(paths: CredentialPaths, now: Date, network: CardanoNetwork, refuse?: string): CredentialCheck {
  const missing = Object.values(paths).filter((p) => !existsSync(p));
  if (missing.length > 0) return { kind: "missing", reason: `missing ${missing.join(", ")}` };
  if (refuse) return { kind: "invalid", reason: refuse };
  try {
    const opcert = readOperationalCertificate(readFileSync(paths.opcert, "utf8"), paths.opcert);
    if (!verifyOperationalCertificate(opcert)) return { kind: "invalid", reason: `${paths.opcert}: op cert signature does not verify against its cold key` };
    const kesSk = readKesSigningKey(readFileSync(paths.kesKey, "utf8"), paths.kesKey);
    const kesVk = kesVerificationKey(kesSk, paths.kesKey);
    kesSk.fill(0);
    if (!equalBytes(kesVk, opcert.kesVerificationKey)) return { kind: "invalid", reason: `${paths.kesKey}: KES key does not match the op cert's KES verification key` };
    readVrfSigningKey(readFileSync(paths.vrfKey, "utf8"), paths.vrfKey).fill(0);
    const current = kesPeriodAt(now, network);
    if (current < opcert.kesPeriod) return { kind: "invalid", reason: `op cert starts at KES period ${opcert.kesPeriod}, after the current period ${current}` };
    const expired = current >= opcert.kesPeriod + NETWORKS[network].maxKESEvolutions;
    return { kind: "valid", credentials: { opcert, kesVerificationKeyHex: bytesToHex(kesVk), expired } };
  } catch (error) {
    return { kind: "invalid", reason: (error as Error).message };
  }
}
