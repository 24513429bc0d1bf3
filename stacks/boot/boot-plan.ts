/**
 * What each host does at first boot, by role: nodes prepare, mount the chain volume and start; the monitoring host
 * installs and starts its services; the bastion only gets its settings. A node's per-boot work — its files composed
 * from the installed release, and on a producer the leader guard — is a systemd unit (pool-node-boot.service) that
 * runs before cardano-node on every boot, not a once-per-instance runcmd.
 */
import type { HostPlan, HostRole } from "../../config/address-plan";
import { poolParameterNames, poolSecretNames } from "../../config/names";
import { gzipSync } from "node:zlib";
import { hostLayout } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import { asTerraformString, bootScript, renderCloudInit, type BootFile, type BootScript, type BootUser } from "./cloud-init";

/** chrony's source for the Amazon Time Sync Service (Debian's chrony.conf reads /etc/chrony/sources.d/*.sources). */
export const TIME_SYNC_SOURCES_PATH = "/etc/chrony/sources.d/amazon-time-sync.sources";

/** Every host: the time source, then the script that makes chrony use it (first of the boot scripts). */
function withTimeSync(files: readonly BootFile[], scripts: readonly BootScript[]): { files: BootFile[]; scripts: BootScript[] } {
  return { files: [{ path: TIME_SYNC_SOURCES_PATH, content: bootScript("amazon-time-sync.sources") }, ...files], scripts: ["sync-time.sh", ...scripts] };
}

/**
 * The per-boot machinery of a node: the unit and the scripts it runs (installed, not run by cloud-init). Compressed
 * (cloud-init decodes `gz+b64`): with them a producer's user data would pass EC2's 16 KiB limit as plain text.
 */
function perBootFiles(role: "relay" | "producer"): BootFile[] {
  const sbin = (name: string, file: string): BootFile => ({ path: `/usr/local/sbin/${name}`, content: gzipSync(bootScript(file), { level: 9 }).toString("base64"), mode: "0755", encoding: "gz+b64" });
  return [
    { path: "/etc/systemd/system/pool-node-boot.service", content: bootScript("pool-node-boot.service"), mode: "0644" },
    sbin("pool-node-boot", "node-boot.sh"),
    sbin("pool-compose-node-files", "compose-node-files.py"),
    ...(role === "producer" ? [sbin("pool-leader-guard", "leader-guard.sh")] : []),
  ];
}

/** Placeholder for the chain volume's id, known to Terraform only at apply. */
export const CHAIN_VOLUME_PLACEHOLDER = "@@CHAIN_VOLUME_ID@@";

/** The cloud-init text of a host (plain text, with the volume id as a placeholder). */
/** The keys that may log in to a host of `role`: its tier's own (`ssh.tierAuthorizedKeys`), else `ssh.authorizedKeys`. */
export function loginKeysFor(config: PoolConfig, role: HostRole): readonly string[] {
  return config.ssh.tierAuthorizedKeys?.[role] ?? config.ssh.authorizedKeys;
}

export function hostBootText(config: PoolConfig, host: HostPlan, hasChainVolume: boolean, files: readonly BootFile[] = []): string {
  const settings: Record<string, string> = {
    POOL_NAME: config.name,
    HOST_NAME: host.name,
    HOST_ROLE: host.role,
    NODE_USER: config.node.user,
    NODE_GROUP: config.node.group,
    NODE_HOME: config.node.home,
    NODE_BIN_DIR: config.node.binDir,
  };
  const login: BootUser = { name: config.ssh.user, sudo: config.ssh.sudo, sshAuthorizedKeys: loginKeysFor(config, host.role) };
  if (host.role === "bastion") return renderCloudInit({ users: [login], settings, ...withTimeSync([], []) });
  // The monitoring host runs no cardano-node: its files are Prometheus, Alertmanager and Grafana configuration.
  if (host.role === "monitoring") return renderCloudInit({ users: [login], settings, ...withTimeSync(files, ["prepare-monitoring.sh"]) });
  // The node's account exists before the deferred node files it owns are written.
  const nodeUser: BootUser = { name: config.node.user, system: true, primaryGroup: config.node.group, homedir: config.node.home };
  const users = [login, nodeUser];
  settings.NODE_NETWORK = config.network;
  settings.NODE_RELEASE_DIR = hostLayout(config).releaseShareDir;
  // Order: account and directories, database volume, then the node itself (its boot unit first).
  const scripts: BootScript[] = ["prepare-node.sh"];
  if (hasChainVolume) {
    settings.CHAIN_VOLUME_ID = CHAIN_VOLUME_PLACEHOLDER;
    scripts.push("mount-chain-volume.sh");
  }
  if (host.role === "producer") {
    const secrets = poolSecretNames(config.name);
    settings.SECRET_KES_SIGNING_KEY = secrets.kesSigningKey;
    settings.SECRET_VRF_SIGNING_KEY = secrets.vrfSigningKey;
    settings.SECRET_OPCERT = secrets.opcert;
    settings.LEADER_PARAMETER = poolParameterNames(config.name).leader;
  }
  scripts.push("start-node.sh");
  // The sandbox runs no pool node: no per-boot unit (and none baked into the images made from it).
  const perBoot = host.role === "relay" || host.role === "producer" ? perBootFiles(host.role) : [];
  return renderCloudInit({ users, settings, ...withTimeSync([...perBoot, ...files], scripts) });
}

/** EC2 refuses user data over 16 KiB in raw form, before base64 ("Run commands … with user data input"). */
export const EC2_USER_DATA_LIMIT = 16_384;

/** Refuses, at synth, user data EC2 would refuse at launch (a volume id is 2 bytes longer than its placeholder). */
export function checkUserDataSize(host: Pick<HostPlan, "name">, text: string): void {
  const bytes = Buffer.byteLength(text.replace(CHAIN_VOLUME_PLACEHOLDER, "vol-0123456789abcdef0"));
  if (bytes > EC2_USER_DATA_LIMIT) {
    throw new Error(`${host.name}: its user data is ${bytes} bytes, over EC2's limit of ${EC2_USER_DATA_LIMIT}: fewer authorized keys or extra files, or move files into the golden image`);
  }
}

/** The same, as a Terraform string: shell syntax escaped, the volume id a reference to the volume. */
export function hostBootUserData(config: PoolConfig, host: HostPlan, chainVolumeId: string | undefined, files: readonly BootFile[] = []): string {
  const text = hostBootText(config, host, chainVolumeId !== undefined, files);
  checkUserDataSize(host, text);
  return asTerraformString(text, chainVolumeId ? { CHAIN_VOLUME_ID: chainVolumeId } : {});
}
