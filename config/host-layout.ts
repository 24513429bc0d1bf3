/**
 * Where things live on a pool host. One module so the boot scripts, push-config, rotate-kes, promote and the lab
 * agree on every path.
 *
 * THE STANDBY RUNS WITH NO CREDENTIAL FLAGS. Read from cardano-node `Run.hs` @11.0.1: a node started with
 * `--shelley-kes-key/--shelley-vrf-key/--shelley-operational-certificate` checks the VRF key's mode and reads all
 * three files at startup (`runNode` → `checkVRFFilePermissions`, `mkConsensusProtocol`) and exits if one is missing;
 * once its startup (ledger replay) is done, a SIGHUP re-reads them and turns forging on when they are present
 * (`installSigHUPHandler` → `updateBlockForging`), `--start-as-non-producing-node` included; before that a SIGHUP
 * only re-reads the topology (`BlockForgingUpdate NotEffective`) and a node started as a producer begins forging
 * when its startup ends. So the only standby no SIGHUP can ever make forge is one whose command line names no
 * credentials, and a node that is still starting is fenced by a restart, never by a SIGHUP.
 *
 * - leader: NODE_ARGS (render/node-args.ts) with the three credential flags naming the *active* paths (`keys/`),
 *   where its credentials are;
 * - standby: NODE_ARGS without any credential flag; its copy of the current pair is *held* in `keys/standby/`, which
 *   no flag names;
 * - promote: the old leader is fenced first — environment rewritten to standby, credentials moved to the held paths,
 *   its node RESTARTED (a restart re-reads everything, so it fences a node whether or not it had finished starting),
 *   not forging confirmed (forging metric and Forge counters) — or, unreachable, stopped through EC2; then the new
 *   leader: credentials into the active paths, environment to leader, restart, startup done and forging confirmed;
 * - rotate-kes: the leader's active pair replaced and a SIGHUP only when its node has finished starting (else a
 *   restart); the standby's held pair replaced with no signal;
 * - every boot of a producer runs the leader guard (stacks/boot/leader-guard.sh) before cardano-node: only the host
 *   the `/<pool>/leader` record names gets the leader environment and its credentials in the active paths; anything
 *   else, an unreadable record included, boots as a standby.
 */
import type { PoolConfig } from "./schema";

export interface CredentialFiles {
  readonly kesKey: string;
  readonly vrfKey: string;
  readonly opcert: string;
}

export interface HostLayout {
  /** `node.home`, e.g. /opt/cardano. */
  readonly home: string;
  readonly configDir: string;
  /** cardano-node's `--config`. */
  readonly nodeConfig: string;
  /** cardano-node's `--topology`. */
  readonly topology: string;
  /** systemd EnvironmentFile holding `NODE_MODE=…` and `NODE_ARGS="…"` for the unit's ExecStart. */
  readonly environmentFile: string;
  /**
   * What every boot makes the node's files from (stacks/boot/node-boot.sh): the config and topology overlays, and the
   * environment file of each mode this host can run in (`env.relay`, or `env.leader` and `env.standby`). Written by
   * cloud-init at first boot and kept current by push-config, so a reboot composes what the last push rendered.
   */
  readonly bootDir: string;
  /** The systemd unit file. */
  readonly unitFile: string;
  /** Directory of the credential files the node reads (root-owned, the node's group: `nodeFileModes`). */
  readonly keysDir: string;
  /** The paths the node's credential flags name: present on the leader only. */
  readonly activeCredentials: CredentialFiles;
  /** Where the standby keeps its copy of the current credentials, unseen by its node. */
  readonly heldCredentials: CredentialFiles;
  /** Mount point of the chain volume (its own EBS volume; the mount script formats and mounts it). */
  readonly chainMount: string;
  /**
   * cardano-node's `--database-path`: a directory *inside* the chain volume. Never the mount point itself: a fresh
   * ext4 root holds `lost+found`, and the node refuses a non-empty database directory without its `protocolMagicId`
   * marker (ouroboros-consensus `Ouroboros/Consensus/Node/DbMarker.hs`, `checkDbMarker`: NoDbMarkerAndNotEmpty).
   */
  readonly database: string;
  /**
   * Where the installed release's node files are (its `share/` beside `bin/`): `<shareDir>/<network>/config.json`,
   * topology, genesis files, checkpoints and peer snapshot. Root-owned, written only by the image bake.
   */
  readonly releaseShareDir: string;
  readonly socket: string;
  /** The directory of `socket`: one of the two the node may write (with `database`). */
  readonly socketDir: string;
  /** Previous versions of files a command replaced, one sub-directory per command run (root only). */
  readonly backupDir: string;
}

/**
 * Device name the chain volume is attached as (Nitro instances expose it as NVMe, found at boot by the volume id).
 * Golden images leave this device out, so no instance boots with another's database.
 */
export const CHAIN_VOLUME_DEVICE = "/dev/sdf";

export const CREDENTIAL_FILE_NAMES = { kesKey: "kes.skey", vrfKey: "vrf.skey", opcert: "node.cert" } as const;

/**
 * The release archive has `bin/` and `share/` side by side (cardano-node `nix/binary-release.nix`); the bake keeps
 * that: binaries in `node.binDir`, node files in `<binDir>/../share/cardano-node/<network>/`.
 */
export function releaseShareDir(binDir: string): string {
  const bin = binDir.replace(/\/+$/, "");
  const parent = bin.slice(0, bin.lastIndexOf("/")) || "";
  return `${parent}/share/cardano-node`;
}

export function hostLayout(config: Pick<PoolConfig, "node">): HostLayout {
  const home = config.node.home.replace(/\/+$/, "");
  const configDir = `${home}/config`;
  const keysDir = `${home}/keys`;
  const credentials = (dir: string): CredentialFiles => ({
    kesKey: `${dir}/${CREDENTIAL_FILE_NAMES.kesKey}`,
    vrfKey: `${dir}/${CREDENTIAL_FILE_NAMES.vrfKey}`,
    opcert: `${dir}/${CREDENTIAL_FILE_NAMES.opcert}`,
  });
  return {
    home,
    configDir,
    nodeConfig: `${configDir}/config.json`,
    topology: `${configDir}/topology.json`,
    environmentFile: `${configDir}/cardano-node.env`,
    bootDir: `${configDir}/boot`,
    unitFile: config.node.service.unitFile ?? `/etc/systemd/system/${config.node.service.name}.service`,
    keysDir,
    activeCredentials: credentials(keysDir),
    heldCredentials: credentials(`${keysDir}/standby`),
    chainMount: `${home}/db`,
    database: `${home}/db/node`,
    releaseShareDir: releaseShareDir(config.node.binDir),
    socket: `${home}/run/node.socket`,
    socketDir: `${home}/run`,
    backupDir: `${home}/backup`,
  };
}

/** Owner, group and mode of a node file or directory. */
export interface Ownership {
  readonly owner: string;
  readonly group: string;
  readonly mode: number;
}

/**
 * NODE-OWNED DATA IS READ-ONLY TO THE NODE. Everything cardano-node only reads — `config/` (config.json, topology.json,
 * the environment file that carries its command line, the boot inputs), `keys/` and `keys/standby/` — is root's, with
 * the node's group allowed to enter and read, so a compromised node can neither change what it runs with (its own
 * NODE_ARGS: credential flags on a standby) nor plant a name (a symbolic link) where root will write. The node writes
 * only its database and its socket directory, the only paths its unit leaves writable (render/systemd/). The node home
 * itself is root's 0755: the node can add no name beside config/ or keys/. Backups are root's alone (0700).
 *
 * The VRF key is the one file the node owns: cardano-node refuses to start with a VRF key that has any "other"
 * permission bit and warns at every start when it has a group bit (cardano-node `cardano-node/src/Cardano/Node/Run.hs`
 * @11.0.1 and @f-f/prepare-11.1, `checkVRFFilePermissions`: `OtherPermissionsExist` refuses,
 * `GroupPermissionsExist` a WARNING; "readable only by the current process owner"), so it is the node user's, 0600.
 * In a root-owned directory the node can still not rename, remove or replace it, and root replaces it only by a
 * rename (ops/remote/safe-files.py), never by writing through it. The KES key and the op cert have no such check:
 * root's, 0640. The boot scripts (stacks/boot/) make the same layout with the same numbers.
 */
export interface NodeFileModes {
  /** `config/`, `config/boot/`, `keys/`, `keys/standby/`: root:<node group> 0750. */
  readonly readOnlyDir: Ownership;
  /** config.json, topology.json, the environment file, the KES key, the op cert: root:<node group> 0640. */
  readonly readOnlyFile: Ownership;
  /** The VRF signing key: <node user>:<node group> 0600 (see above). */
  readonly vrfKey: Ownership;
  /** The socket directory: the node's, 0755 as before (the socket's own mode decides who may connect). The database
   * directory, the other path the node writes, is made by the chain volume's mount script (the node's, 0750). */
  readonly socketDir: Ownership;
  /** `backup/` and each run's directory in it: root:root 0700 (ops/remote/safe-files.py refuses any other). */
  readonly backupDir: Ownership;
}

export function nodeFileModes(config: Pick<PoolConfig, "node">): NodeFileModes {
  const { user, group } = config.node;
  return {
    readOnlyDir: { owner: "root", group, mode: 0o750 },
    readOnlyFile: { owner: "root", group, mode: 0o640 },
    vrfKey: { owner: user, group, mode: 0o600 },
    socketDir: { owner: user, group, mode: 0o755 },
    backupDir: { owner: "root", group: "root", mode: 0o700 },
  };
}

/** How a credential file is kept, active or held: the VRF key the node's 0600, the others root's 0640. */
export function credentialOwnership(config: Pick<PoolConfig, "node">, key: keyof CredentialFiles): Ownership {
  const modes = nodeFileModes(config);
  return key === "vrfKey" ? modes.vrfKey : modes.readOnlyFile;
}
