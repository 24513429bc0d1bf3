/**
 * The lab itself: booted Debian machines from their own user data, reachable only as the pool config allows; EC2's
 * stop, start and reboot act on them; lab down leaves nothing behind, even after the supervisor was killed.
 */
import { DescribeInstanceAttributeCommand, DescribeVolumesCommand, EC2Client, ModifyVolumeCommand } from "@aws-sdk/client-ec2";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { awsClientSettings } from "../ops/aws/client-config";
import { CHAIN_VOLUME_DEVICE } from "../config/host-layout";
import { growFilesystems } from "../ops/rollout/node-guards";
import { labFleet, LAB_DOWN_DEADLINE_MS, LAB_SKIP, LAB_SKIP_NOTE, LAB_UP_DEADLINE_MS, runPoolOps, uniqueLabId, useLab, waitForSsh } from "./harness";
import { hostExec, hostPath, instanceAction } from "./lab-hosts";
import { labDown, labUp, processAlive, type LabState } from "./lab";

/** Where the node's chain volume is mounted on the lab's hosts (the default node.home). */
const CHAIN_MOUNT = "/opt/cardano/db";
/** Whether this machine gives root CAP_SYS_RESOURCE (bit 24 of the bounding set). */
const HAS_SYS_RESOURCE = ((BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0"}`) >> 24n) & 1n) === 1n;

const netns = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
const loops = () => execFileSync("losetup", ["-a"], { encoding: "utf8" });

/** What `pool-ops run` printed for one host. */
function outputOf(stdout: string, host: string): string {
  const block = (stdout.split(/\n(?=\[)/).find((b) => b.startsWith(`[${host}]`)) ?? "").split("\n\n")[0]!;
  return block.split("\n").slice(1).map((l) => l.trim()).join("\n").trim();
}

/** The machine's init start time (changes when the machine boots again). */
function initStartedAt(lab: LabState, host: string): string {
  return readFileSync(hostPath(lab, host, "/proc/1/stat"), "utf8").split(" ")[21]!;
}

describe.skipIf(LAB_SKIP)(`the booted lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab({ relays: 2, withMonitoring: true });

  // The monitoring host's first boot (its apt installs) is the lab's longest: looked at from outside, up to this deadline.
  const MONITORING_INSTALL_DEADLINE_MS = 300_000;
  it("every host is a Debian 12 machine booted by systemd with cloud-init done, from exactly the user data EC2 was given", { timeout: MONITORING_INSTALL_DEADLINE_MS + 30_000 }, async () => {
    const facts = ". /etc/os-release; echo $VERSION_ID; cat /proc/1/comm; cloud-init status";
    const r = await runPoolOps(lab(), ["run", "--", facts]);
    expect(r.code, r.stderr).toBe(0);
    // The nodes' inventory (the nodes stack's output) does not list the monitoring host, as on AWS: it is looked at
    // from outside, once its first boot is over.
    const inventoried = lab().hosts.filter((h) => h.role !== "monitoring");
    for (const host of inventoried) expect(outputOf(r.stdout, host.name), host.name).toBe("12\nsystemd\nstatus: done");
    const until = Date.now() + MONITORING_INSTALL_DEADLINE_MS;
    let monitoring = hostExec(lab(), "monitoring", facts).trim();
    while (!monitoring.endsWith("status: done") && !monitoring.endsWith("status: error") && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      monitoring = hostExec(lab(), "monitoring", facts).trim();
    }
    expect(monitoring, "monitoring").toBe("12\nsystemd\nstatus: done");
    const ec2 = new EC2Client(awsClientSettings({ region: "eu-west-1", endpoint: lab().awsEndpoint }));
    try {
      for (const host of lab().hosts) {
        const attribute = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: host.instanceId, Attribute: "userData" }));
        const given = Buffer.from(attribute.UserData?.Value ?? "", "base64");
        expect(readFileSync(hostPath(lab(), host.name, `/var/lib/cloud/instances/${host.instanceId}/user-data.txt`)).equals(given), host.name).toBe(true);
      }
    } finally {
      ec2.destroy();
    }
  });

  it("the login user has exactly the pool config's authorized keys; any other key is refused with a clear message", async () => {
    const config = parseYaml(readFileSync(lab().files.poolConfig, "utf8")) as { ssh: { authorizedKeys: string[] } };
    for (const host of lab().hosts) {
      expect(readFileSync(hostPath(lab(), host.name, "/home/admin/.ssh/authorized_keys"), "utf8").trim().split("\n"), host.name).toEqual(config.ssh.authorizedKeys);
    }
    const other = join(lab().dir, "other-key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
    const refused = await runPoolOps(lab(), ["ping"], { env: { POOL_OPS_IDENTITY: other } });
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(/bastion failed at authenticate: admin@[\d.]+:22: the server refused our key/);
  });

  it("an EC2 stop powers the machine off; start boots the same disk again without re-running first-boot scripts; reboot reboots", async () => {
    const before = initStartedAt(lab(), "relay-2");
    await instanceAction(lab(), "relay-2", "stop");
    const down = await runPoolOps(lab(), ["ping", "-H", "relay-2"]);
    expect(down.code).toBe(1);
    await instanceAction(lab(), "relay-2", "start");
    await waitForSsh(lab(), "relay-2", 60_000);
    const up = await runPoolOps(lab(), ["run", "-H", "relay-2", "--", "cloud-init status --wait >/dev/null; grep -c 'Cloud-init v. .* running .modules:final' /var/log/cloud-init.log; sudo grep -c 'prepare-node' /var/log/cloud-init-output.log || true"], { timeoutMs: 120_000 });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    // cloud-init's final stage ran on both boots, but the instance's runcmd (first boot only) once.
    const [finals, preparations] = outputOf(up.stdout, "relay-2").split("\n").map(Number);
    expect(finals).toBe(2);
    expect(preparations).toBeLessThanOrEqual(1);
    expect(initStartedAt(lab(), "relay-2")).not.toBe(before);
    const started = initStartedAt(lab(), "relay-2");
    await instanceAction(lab(), "relay-2", "reboot");
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        if (initStartedAt(lab(), "relay-2") !== started) break;
      } catch {
        /* between the two boots */
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(initStartedAt(lab(), "relay-2")).not.toBe(started);
    await waitForSsh(lab(), "relay-2", 60_000);
  }, 240_000);

  it("EBS ModifyVolume grows a relay's chain volume while its node runs (the machine sees the bigger disk at once); a smaller size is refused as EBS refuses it", async () => {
    await withChainVolume("relay-1", async ({ ec2, volumeId, size, deviceBytes }) => {
      expect(deviceBytes()).toBe(size * 1024 ** 3);
      await ec2.send(new ModifyVolumeCommand({ VolumeId: volumeId, Size: size + 1 }));
      expect(deviceBytes()).toBe((size + 1) * 1024 ** 3);
      await expect(ec2.send(new ModifyVolumeCommand({ VolumeId: volumeId, Size: size }))).rejects.toThrow(/New size cannot be smaller than existing size/);
      expect(deviceBytes()).toBe((size + 1) * 1024 ** 3);
    });
  }, 120_000);

  // Online ext4 growth (EXT4_IOC_RESIZE_FS) needs CAP_SYS_RESOURCE in the initial user namespace, which EC2 instances
  // have and some build machines do not give even to root.
  it.skipIf(!HAS_SYS_RESOURCE)(`the rollout's grow step grows the mounted chain filesystem online${HAS_SYS_RESOURCE ? "" : " (skipped: this machine withholds CAP_SYS_RESOURCE, which online resize2fs needs)"}`, async () => {
    await withChainVolume("relay-2", async ({ ec2, volumeId, size, fsBytes }) => {
      const before = fsBytes();
      await ec2.send(new ModifyVolumeCommand({ VolumeId: volumeId, Size: size + 1 }));
      // The filesystem is the instance's to grow, as on EC2.
      expect(fsBytes()).toBe(before);
      const fleet = await labFleet(lab());
      try {
        expect(await growFilesystems(fleet.connection("relay-2"), CHAIN_MOUNT, ["chain"])).toMatch(/^chain \S+$/);
      } finally {
        await fleet.close();
      }
      expect(fsBytes() - before).toBeGreaterThan(0.9 * 1024 ** 3);
    });
  }, 120_000);

  /** A host's chain volume (EC2 and inside the machine) for one test. */
  async function withChainVolume(host: string, run: (v: { ec2: EC2Client; volumeId: string; size: number; deviceBytes: () => number; fsBytes: () => number }) => Promise<void>): Promise<void> {
    const ec2 = new EC2Client(awsClientSettings({ region: "eu-west-1", endpoint: lab().awsEndpoint }));
    try {
      const instanceId = lab().hosts.find((h) => h.name === host)!.instanceId;
      const volumes = (await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: "attachment.instance-id", Values: [instanceId] }] }))).Volumes ?? [];
      const chain = volumes.find((v) => v.Attachments?.some((a) => a.Device === CHAIN_VOLUME_DEVICE))!;
      const deviceBytes = () => Number(hostExec(lab(), host, `blockdev --getsize64 "$(findmnt -n -o SOURCE --target ${CHAIN_MOUNT})"`).trim());
      const fsBytes = () => Number(hostExec(lab(), host, `df -B1 --output=size ${CHAIN_MOUNT} | tail -1`).trim());
      await run({ ec2, volumeId: chain.VolumeId!, size: chain.Size!, deviceBytes, fsBytes });
    } finally {
      ec2.destroy();
    }
  }
});

describe.skipIf(LAB_SKIP)(`lab up / down${LAB_SKIP_NOTE}`, () => {
  it("lab down removes every machine, namespace, loop device and file, even after its supervisor was killed", async () => {
    const lab = await labUp({ id: uniqueLabId(), relays: 2, withoutHosts: ["producer-2", "monitoring"] });
    const namespaces = JSON.parse(readFileSync(join(lab.dir, "machines.json"), "utf8")) as { instances: Record<string, { namespace: string; nspawnPid: number }> };
    const pids = Object.values(namespaces.instances).map((i) => i.nspawnPid);
    expect(pids.every(processAlive)).toBe(true);
    process.kill(lab.supervisorPid, "SIGKILL");
    await labDown(lab);
    expect(netns()).not.toContain(`pl-${lab.id}-`);
    expect(loops()).not.toContain(lab.dir);
    expect(pids.some(processAlive)).toBe(false);
    expect(existsSync(lab.dir)).toBe(false);
    expect(existsSync(`/run/pool-ops-lab/slot-${lab.slot}`)).toBe(false);
    expect(execFileSync("ip", ["route"], { encoding: "utf8" })).not.toContain(lab.operatorLink);
  }, LAB_UP_DEADLINE_MS + LAB_DOWN_DEADLINE_MS);

  it("refuses a bad lab id", async () => {
    await expect(labUp({ id: "Bad_Id" })).rejects.toThrow(/expected 1-8 lowercase letters or digits/);
  });
});
