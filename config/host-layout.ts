/**
 * Where things live on a pool host. One module so the boot scripts, push-config, rotate-kes, promote and the lab
 * agree on every path.
 *
 * Forging is decided by which files exist where (cardano-node dynamic block forging, ≥ 8.7.2): the node is always
 * pointed at `keys/` (the *active* credential paths). On the leader the three files are there; on the standby they
 * are held in `keys/standby/`, where the node never looks, so a SIGHUP on the standby (a topology push, a rotation)
 * can never switch forging on by accident. Promote moves them in; fencing moves them out.
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
  /** systemd EnvironmentFile holding `NODE_ARGS="…"` for the unit's ExecStart. */
  readonly environmentFile: string;
  /** The systemd unit file. */
  readonly unitFile: string;
  /** Directory of the credential files the node reads (mode 0700, node user). */
  readonly keysDir: string;
  /** The paths the node's credential flags name: present on the leader only. */
  readonly activeCredentials: CredentialFiles;
  /** Where the standby keeps its copy of the current credentials, unseen by its node. */
  readonly heldCredentials: CredentialFiles;
  /** Chain database (the separate EBS volume's mount point). */
  readonly database: string;
  readonly socket: string;
  /** Previous versions of files a command replaced, one sub-directory per command run. */
  readonly backupDir: string;
}

/**
 * Device name the chain volume is attached as (Nitro instances expose it as NVMe, found at boot by the volume id).
 * Golden images leave this device out, so no instance boots with another's database.
 */
export const CHAIN_VOLUME_DEVICE = "/dev/sdf";

export const CREDENTIAL_FILE_NAMES = { kesKey: "kes.skey", vrfKey: "vrf.skey", opcert: "node.cert" } as const;

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
    unitFile: config.node.service.unitFile ?? `/etc/systemd/system/${config.node.service.name}.service`,
    keysDir,
    activeCredentials: credentials(keysDir),
    heldCredentials: credentials(`${keysDir}/standby`),
    database: `${home}/db`,
    socket: `${home}/run/node.socket`,
    backupDir: `${home}/backup`,
  };
}
