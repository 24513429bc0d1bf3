/**
 * Test tooling that acts on lab machines from outside, as the world around a host would: cut or slow its link, stop,
 * start or reboot its instance through the lab's EC2, read what its disk holds. Anything that changes what a host
 * runs goes through the product (cloud-init, pool-ops); the exceptions are fault injection (files a test drops to
 * make the node stand-in misbehave, a host key replaced to stand for an impersonated host), each named as such.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { poolAddressPlan } from "../config/address-plan";
import { loadPoolConfigFile } from "../config/load";
import { awsClientSettings } from "../ops/aws/client-config";
import { askSupervisor, labHost, LabError, machineInitPid, machinePath, type LabState } from "./lab";
import type { HypervisorRecords, InstanceRecord } from "./machines/hypervisor";

function records(lab: LabState): HypervisorRecords {
  return JSON.parse(readFileSync(join(lab.dir, "machines.json"), "utf8")) as HypervisorRecords;
}

export function instanceRecord(lab: LabState, hostName: string): InstanceRecord {
  const host = labHost(lab, hostName);
  const record = records(lab).instances[host.instanceId];
  if (!record) throw new LabError(`${hostName}: the lab's hypervisor has no record of ${host.instanceId}`);
  return record;
}

/** A path on a running machine's filesystem, as the machine sees it (reading; writing only for fault injection). */
export const hostPath = machinePath;

/** Runs a command inside a running machine as its root (inspection and fault injection only). */
export function hostExec(lab: LabState, hostName: string, command: string): string {
  const pid = String(machineInitPid(lab, hostName));
  return execFileSync("nsenter", ["-t", pid, "-m", "-u", "-i", "-n", "-p", "--", "sh", "-c", command], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * Cuts a host's link or mends it: every packet to and from the instance is dropped silently at the VPC router (a
 * blackhole route to it and a blackhole rule for what it sends), as the VPC drops traffic of an instance whose network
 * is gone — no "host unreachable" comes back, so a client waits for its timeouts, as it would on AWS. (tc's netem would
 * do the same, but not every kernel has it.) For the bastion: its replies to the operator's machine are dropped (the
 * internet between operator and pool is gone).
 */
export function setLink(lab: LabState, hostName: string, up: boolean): void {
  const host = labHost(lab, hostName);
  const record = instanceRecord(lab, hostName);
  const operatorNet = `10.249.${lab.slot}.0/30`;
  const commands: string[][] =
    host.role === "bastion"
      ? [["route", up ? "del" : "replace", "blackhole", operatorNet, "table", "main"], ["rule", up ? "del" : "add", "iif", "op", "blackhole", "pref", "90"]]
      : [["route", up ? "del" : "replace", "blackhole", `${record.privateIp}/32`], ["rule", up ? "del" : "add", "iif", record.routerDevice, "blackhole", "pref", "90"]];
  routerIp(lab, commands, up, `${hostName}'s link`);
}

/**
 * Runs `ip` commands in the VPC router's namespace that cut something (`mending` false) or mend it: mending what was
 * not cut is not an error, a cut that fails is.
 */
function routerIp(lab: LabState, commands: readonly string[][], mending: boolean, what: string): void {
  for (const args of commands) {
    try {
      execFileSync("ip", ["-n", lab.vpcNamespace, ...args], { stdio: "pipe" });
    } catch (error) {
      if (!mending) throw new LabError(`cutting ${what}: ip ${args.join(" ")}: ${String((error as { stderr?: Buffer }).stderr ?? "").trim()}`);
    }
  }
}

/**
 * Makes a VPC interface endpoint (by service: "secretsmanager", "ssm", …) stop answering, or answer again: whatever the
 * router sends from the endpoint's ENI addresses is dropped, so a host's connection there gets no reply at all — as
 * when the endpoint's security group stops admitting the host — and its AWS CLI waits out its timeouts.
 */
export function setEndpointReachable(lab: LabState, service: string, reachable: boolean): void {
  const addresses = poolAddressPlan(loadPoolConfigFile(lab.files.poolConfig)).endpoints.filter((e) => e.service === service).map((e) => e.privateIp);
  if (addresses.length === 0) throw new LabError(`the lab's VPC has no ${service} endpoint`);
  routerIp(lab, addresses.map((address) => ["rule", reachable ? "del" : "add", "from", `${address}/32`, "blackhole", "pref", "80"]), reachable, `the ${service} endpoint`);
}

function setDelay(namespace: string | null, device: string, oneWayMs: number): void {
  const ns = namespace ? ["-n", namespace] : [];
  if (oneWayMs > 0) {
    try {
      execFileSync("tc", [...ns, "qdisc", "replace", "dev", device, "root", "netem", "delay", `${oneWayMs}ms`], { stdio: "pipe" });
    } catch (error) {
      const text = String((error as { stderr?: Buffer }).stderr ?? "");
      if (/qdisc kind is unknown/.test(text)) throw new LabError("this kernel has no netem qdisc (module sch_netem): latency cannot be added here");
      throw new LabError(`tc on ${device}: ${text.trim()}`);
    }
  } else {
    try {
      execFileSync("tc", [...ns, "qdisc", "del", "dev", device, "root"], { stdio: "ignore" });
    } catch {
      /* no qdisc: nothing to remove */
    }
  }
}

/** Whether this kernel offers tc's netem qdisc (some VM kernels do not). */
export function netemAvailable(): boolean {
  try {
    execFileSync("modprobe", ["-q", "sch_netem"], { stdio: "ignore" });
  } catch {
    /* built in, or not there at all: the probe below decides */
  }
  const probe = `plnetem${process.pid % 100000}`;
  try {
    execFileSync("ip", ["link", "add", probe, "type", "veth", "peer", "name", `${probe}p`], { stdio: "ignore" });
  } catch {
    return false;
  }
  try {
    execFileSync("tc", ["qdisc", "add", "dev", probe, "root", "netem", "delay", "1ms"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    execFileSync("ip", ["link", "del", probe], { stdio: "ignore" });
  }
}

/** Adds round-trip latency (netem, half on each end): operator ↔ bastion, and router ↔ every other instance. */
export function setLatency(lab: LabState, latency: { operatorRttMs?: number; privateRttMs?: number }): void {
  if (latency.operatorRttMs !== undefined) {
    setDelay(null, lab.operatorLink, latency.operatorRttMs / 2);
    setDelay(lab.vpcNamespace, "op", latency.operatorRttMs / 2);
  }
  if (latency.privateRttMs !== undefined) {
    for (const host of lab.hosts.filter((h) => h.role !== "bastion")) {
      const record = instanceRecord(lab, host.name);
      setDelay(lab.vpcNamespace, record.routerDevice, latency.privateRttMs / 2);
      setDelay(record.namespace, "eth0", latency.privateRttMs / 2);
    }
  }
}

/**
 * Fault injection: gives a host new SSH host keys (what a rebuilt or impersonated host looks like) and returns its
 * new ed25519 public key line.
 */
export function replaceHostKey(lab: LabState, hostName: string): string {
  return hostExec(lab, hostName, "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh && cat /etc/ssh/ssh_host_ed25519_key.pub").trim();
}

/** Stops or starts a host's sshd (the host stays up): a host that does not answer SSH. */
export function setSshd(lab: LabState, hostName: string, running: boolean): void {
  hostExec(lab, hostName, running ? "systemctl start ssh" : "systemctl stop ssh");
}

/** The lab's EC2, as the operator's AWS account: stop (optionally forced), start, reboot an instance. */
export async function instanceAction(lab: LabState, hostName: string, action: "stop" | "force-stop" | "start" | "reboot"): Promise<void> {
  const { EC2Client, StopInstancesCommand, StartInstancesCommand, RebootInstancesCommand } = await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client(awsClientSettings({ region: "eu-west-1", endpoint: lab.awsEndpoint }));
  const InstanceIds = [labHost(lab, hostName).instanceId];
  try {
    if (action === "stop" || action === "force-stop") await ec2.send(new StopInstancesCommand({ InstanceIds, Force: action === "force-stop" }));
    else if (action === "start") await ec2.send(new StartInstancesCommand({ InstanceIds }));
    else await ec2.send(new RebootInstancesCommand({ InstanceIds }));
  } finally {
    ec2.destroy();
  }
}

/** The machine's init start time (clock ticks since this machine booted): it changes when the machine boots again. */
export function machineBootMark(lab: LabState, hostName: string): string | undefined {
  try {
    return readFileSync(hostPath(lab, hostName, "/proc/1/stat"), "utf8").split(" ")[21];
  } catch {
    return undefined; // between two boots
  }
}

/** Reboots an instance through EC2 and resolves once the machine has booted again (its init is a new one). */
export async function rebootInstance(lab: LabState, hostName: string, deadlineMs: number): Promise<void> {
  const before = machineBootMark(lab, hostName);
  await instanceAction(lab, hostName, "reboot");
  const until = Date.now() + deadlineMs;
  for (;;) {
    const now = machineBootMark(lab, hostName);
    if (now !== undefined && now !== before) return;
    if (Date.now() > until) throw new LabError(`${hostName} did not boot again within ${deadlineMs / 1000} s of its reboot`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Fault injection: where the node stand-in looks for a lab fault file (`<node.home>/lab/<name>`, lab/node-standin.md),
 * as a path on this machine; its directory is made (root's) when missing.
 */
export function faultFile(lab: LabState, hostName: string, name: string): string {
  const dir = hostPath(lab, hostName, "/opt/cardano/lab");
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

/**
 * A path on a stopped machine's own disk (its root disk's changes over the image: what an EBS snapshot of it would
 * hold beyond the AMI). Only for machines that are not running: a running machine's disk is read through hostPath.
 */
export function stoppedDiskPath(lab: LabState, hostName: string, path: string): string {
  const record = instanceRecord(lab, hostName);
  if (record.state === "running") throw new LabError(`${hostName} is running: read its files through hostPath`);
  return join(record.dir, "upper", path);
}

/** A path in an image the lab's EC2 made (CreateImage): the layer it adds over its source image. */
export function imageLayerPath(lab: LabState, imageId: string, path: string): string {
  return join(lab.dir, "images", imageId, path);
}

/**
 * Registers another AMI for the same content as `imageId` (what a second bake of the same release would give): the
 * lab's EC2 learns a new image id, the hypervisor boots it from the same layers.
 */
export async function copyImage(lab: LabState, imageId: string, name: string): Promise<string> {
  const layers = records(lab).images[imageId]?.layers;
  if (!layers) throw new LabError(`the lab's hypervisor knows no image ${imageId}`);
  const { EC2Client, RegisterImageCommand } = await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client(awsClientSettings({ region: "eu-west-1", endpoint: lab.awsEndpoint }));
  try {
    const made = await ec2.send(new RegisterImageCommand({ Name: name, Architecture: "x86_64", RootDeviceName: "/dev/xvda", VirtualizationType: "hvm" }));
    if (!(await askSupervisor(lab, { op: "register-image", imageId: made.ImageId, layers }, 10_000))) throw new LabError("the lab's supervisor did not register the image");
    return made.ImageId!;
  } finally {
    ec2.destroy();
  }
}
