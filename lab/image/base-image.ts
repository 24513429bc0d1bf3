/**
 * The lab's base machine image: a Debian 12 root filesystem made the way Debian's own EC2 images are made
 * (debian-cloud-images, config_space/bookworm: `debootstrap --variant minbase` then the package classes SYSTEM_BOOT,
 * CLOUD, EC2 and EXTRAS), minus what a container cannot use (kernel, boot loader, netplan/networkd/resolved: the
 * lab's VPC configures each machine's network from outside, as EC2's DHCP would). Built once per machine and cached,
 * keyed by its recipe: change the recipe and the next lab rebuilds it.
 *
 * Where a lab machine must differ from an EC2 instance, the difference is one of the few named lab facts below and is
 * listed in the README's lab section — never a change to what the stacks' user data does.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { labCacheDir, withCacheLock } from "./cache";
import { createLabCa, type LabCa } from "./lab-ca";

/** Debian release of the pool's default AMI (`debian-12-amd64-*`). */
export const BASE_SUITE = "bookworm";
const DEBIAN_ARCHIVE = "http://deb.debian.org/debian";

/**
 * Packages of Debian's bookworm EC2 image that matter on a pool host, by the image build's class:
 * - EC2: awscli, cloud-init, cloud-guest-utils, amazon-ec2-utils;
 * - CLOUD: openssh-server;
 * - SYSTEM_BOOT: sudo, libpam-systemd, libnss-myhostname, iptables, iputils-ping, less, netbase, apt-utils, zstd, and
 *   chrony (TIME_CHRONY);
 * - EXTRAS: ca-certificates, curl, xz-utils, socat, psmisc, uuid-runtime.
 * Plus what minbase lacks that every Debian image has: systemd as init, dbus, iproute2, locales.
 */
export const BASE_PACKAGES = [
  "systemd", "systemd-sysv", "dbus", "iproute2", "locales",
  "awscli", "cloud-init", "cloud-guest-utils", "amazon-ec2-utils",
  "openssh-server",
  "sudo", "libpam-systemd", "libnss-myhostname", "iptables", "iputils-ping", "less", "netbase", "apt-utils", "zstd", "chrony",
  "ca-certificates", "curl", "xz-utils", "socat", "psmisc", "uuid-runtime",
] as const;

/**
 * The lab facts baked into the image (each also in the README):
 * - cloud-init reads the NoCloud seed the lab binds in (EC2 instances read the instance metadata service), and leaves
 *   the network alone (the lab sets each machine's address and routes as the VPC's DHCP would);
 * - the resolver is the Amazon-provided one at its link-local address 169.254.169.253 (DHCP would name VPC+2; both
 *   reach the same Route 53 Resolver), answered in the lab by its VPC stand-in;
 * - the lab's CA is trusted, because the lab's stand-ins for the AWS endpoints and package repositories speak TLS
 *   with certificates it signs;
 * - chronyd tracks time without setting the clock (-x): the machine shares this machine's kernel clock;
 * - fstab's block devices are mounted at boot by a unit of the lab's (systemd skips them in a container);
 * - apt sources name Debian's CDN for AWS (cdn-aws.deb.debian.org, as the EC2 class sets it), which the lab's
 *   resolver points at its package proxy.
 */
const CLOUD_CFG_LAB = `# Lab fact (lab/image/base-image.ts): the seed comes from the NoCloud datasource, as EC2's comes from IMDS.
datasource_list: [ NoCloud, None ]
# Lab fact: the lab's VPC configures the network from outside the machine, as EC2's DHCP does.
network: {config: disabled}
`;
/**
 * chrony as a lab machine can run it: the machine shares this machine's kernel clock and may not set it, so chronyd
 * runs with -x (track the source, never set the clock) instead of being skipped for lacking CAP_SYS_TIME; it still
 * synchronises with the source the boot configures (the lab answers NTP on 169.254.169.123).
 */
const CHRONY_DROP_IN = `# Lab fact (lab/image/base-image.ts): the machine shares the lab host's clock; track the source, never set the clock.
[Unit]
ConditionCapability=
[Service]
ExecStart=
ExecStart=!/usr/sbin/chronyd $DAEMON_OPTS -x
`;
/**
 * systemd's fstab generator skips block-device entries in a container ("Running in a container, ignoring fstab device
 * entry"), so on a lab machine nothing would mount the chain volume at a later boot, as systemd does on EC2. This unit
 * does it early in every boot, before local-fs.target, as the generated mount units would.
 */
const FSTAB_DEVICES_UNIT = `# Lab fact (lab/image/base-image.ts): mount fstab's block devices at boot, as systemd does outside a container.
[Unit]
Description=Mount the fstab entries of block devices (what systemd-fstab-generator does on EC2)
DefaultDependencies=no
Before=local-fs.target
After=local-fs-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/libexec/pool-lab-mount-fstab-devices

[Install]
WantedBy=local-fs.target
`;
const FSTAB_DEVICES_SCRIPT = `#!/bin/sh
# Lab fact (lab/image/base-image.ts): what systemd's generated mount units do at boot outside a container.
awk '$1 ~ /^\\/dev\\// && $2 != "/" { print $2 }' /etc/fstab | while read -r where; do
  mountpoint -q "$where" || mount "$where" || echo "pool-lab: could not mount $where" >&2
done
`;
const RESOLV_CONF = "# Lab fact (lab/image/base-image.ts): the Amazon-provided DNS resolver at its link-local address.\nnameserver 169.254.169.253\n";
const SOURCES_LIST = [
  `deb http://cdn-aws.deb.debian.org/debian ${BASE_SUITE} main`,
  `deb http://cdn-aws.deb.debian.org/debian ${BASE_SUITE}-updates main`,
  `deb http://cdn-aws.deb.debian.org/debian-security ${BASE_SUITE}-security main`,
  "",
].join("\n");

/** Bump when the build steps below change in a way the recipe text does not show. */
const BUILD_REVISION = 1;

export interface BaseImage {
  /** The root filesystem, read-only for machines (they boot with their own overlay on top). */
  readonly rootDir: string;
  readonly key: string;
  readonly ca: LabCa;
}

export function baseImageKey(): string {
  const recipe = JSON.stringify({ BASE_SUITE, BASE_PACKAGES, CLOUD_CFG_LAB, RESOLV_CONF, SOURCES_LIST, CHRONY_DROP_IN, FSTAB_DEVICES_UNIT, FSTAB_DEVICES_SCRIPT, BUILD_REVISION });
  return createHash("sha256").update(recipe).digest("hex").slice(0, 16);
}

function run(cmd: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): void {
  try {
    execFileSync(cmd, args, { stdio: ["pipe", "pipe", "pipe"], input: options.input, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stderr?: Buffer; stdout?: Buffer; message: string };
    const tail = `${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`.trim().split("\n").slice(-15).join("\n");
    throw new Error(`${cmd} ${args.slice(0, 6).join(" ")}…: ${tail || e.message}`);
  }
}

/** Why the base image cannot be built here, or undefined. */
export function baseImageUnavailableReason(): string | undefined {
  for (const [path, pkg] of [["/usr/sbin/debootstrap", "debootstrap"], ["/usr/bin/systemd-nspawn", "systemd-container"], ["/usr/bin/openssl", "openssl"]] as const) {
    if (!existsSync(path)) return `${path} is missing: apt-get install ${pkg}`;
  }
  return undefined;
}

/** The cached base image, built first if this machine has none for the current recipe (about 2 minutes). */
export async function ensureBaseImage(log: (line: string) => void = () => undefined): Promise<BaseImage> {
  const key = baseImageKey();
  const dir = join(labCacheDir(), `base-${key}`);
  const done = join(dir, ".complete");
  return withCacheLock(`base-${key}`, async () => {
    if (!existsSync(done)) {
      const why = baseImageUnavailableReason();
      if (why) throw new Error(`cannot build the lab's base image: ${why}`);
      log(`building the lab's Debian ${BASE_SUITE} base image (once per machine; cache ${dir})`);
      buildBaseImage(dir);
    }
    return { rootDir: join(dir, "root"), key, ca: JSON.parse(readFileSync(join(dir, "ca.json"), "utf8")) as LabCa };
  });
}

function buildBaseImage(dir: string): void {
  const staging = `${dir}.building`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  chmodSync(staging, 0o755);
  const root = join(staging, "root");
  run("debootstrap", ["--variant=minbase", BASE_SUITE, root, DEBIAN_ARCHIVE]);
  // apt inside the chroot reaches Debian's archive through this machine's resolver while building.
  writeFileSync(join(root, "etc/resolv.conf"), readFileSync("/etc/resolv.conf"));
  writeFileSync(join(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\n# image build: packages must not start services in the chroot\nexit 101\n", { mode: 0o755 });
  const chrootEnv = { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" };
  run("chroot", [root, "apt-get", "update", "-qq"], { env: chrootEnv });
  run("chroot", [root, "apt-get", "install", "-y", "-qq", "--no-install-recommends", ...BASE_PACKAGES], { env: chrootEnv });
  // Debian's cloud images generate en_US.UTF-8 (cloud-init's locale module sets it at first boot).
  writeFileSync(join(root, "etc/locale.gen"), "en_US.UTF-8 UTF-8\n");
  run("chroot", [root, "locale-gen"], { env: chrootEnv });
  run("chroot", [root, "apt-get", "clean"], { env: chrootEnv });

  const ca = createLabCa(join(staging, "ca"));
  mkdirSync(join(root, "usr/local/share/ca-certificates"), { recursive: true });
  writeFileSync(join(root, "usr/local/share/ca-certificates/pool-ops-lab-ca.crt"), readFileSync(ca.certFile));
  run("chroot", [root, "update-ca-certificates"], { env: chrootEnv });

  writeFileSync(join(root, "etc/cloud/cloud.cfg.d/90_pool_lab.cfg"), CLOUD_CFG_LAB);
  writeFileSync(join(root, "etc/resolv.conf"), RESOLV_CONF);
  writeFileSync(join(root, "etc/apt/sources.list"), SOURCES_LIST);
  writeFileSync(join(root, "etc/systemd/system/pool-lab-fstab-devices.service"), FSTAB_DEVICES_UNIT);
  mkdirSync(join(root, "usr/local/libexec"), { recursive: true });
  writeFileSync(join(root, "usr/local/libexec/pool-lab-mount-fstab-devices"), FSTAB_DEVICES_SCRIPT, { mode: 0o755 });
  mkdirSync(join(root, "etc/systemd/system/local-fs.target.wants"), { recursive: true });
  symlinkSync("/etc/systemd/system/pool-lab-fstab-devices.service", join(root, "etc/systemd/system/local-fs.target.wants/pool-lab-fstab-devices.service"));
  mkdirSync(join(root, "etc/systemd/system/chrony.service.d"), { recursive: true });
  writeFileSync(join(root, "etc/systemd/system/chrony.service.d/pool-lab.conf"), CHRONY_DROP_IN);
  // As an image leaves the build: no host keys (cloud-init makes each instance its own), no machine id, no seed.
  rmSync(join(root, "usr/sbin/policy-rc.d"));
  run("sh", ["-c", `rm -f ${root}/etc/ssh/ssh_host_* && : > ${root}/etc/machine-id && rm -rf ${root}/var/lib/cloud/* ${root}/var/lib/apt/lists/*`]);
  writeFileSync(join(staging, "ca.json"), `${JSON.stringify(ca)}\n`);
  writeFileSync(join(staging, ".complete"), `${new Date().toISOString()}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  // The CA's paths were recorded under the staging name.
  const moved = JSON.stringify(ca).split(staging).join(dir);
  writeFileSync(join(dir, "ca.json"), `${moved}\n`);
}
