/**
 * The lab's hypervisor: what EC2 does to instances, done to lab machines. The AWS emulator calls it (one JSON line
 * per event on a Unix socket, lab/emulator/moto_lab.py) when an instance is launched, stopped, started, rebooted or
 * terminated, a volume attached, detached or deleted, an image created, or the console read.
 *
 * - launch: a namespace plugged into the instance's subnet at its private address, a machine booted from the AMI's
 *   layers with the instance's user data (NoCloud seed, byte for byte what RunInstances received);
 * - stop returns once the machine is down (so "stopped" in the API is true); start boots it again with the same root
 *   disk; reboot reboots it inside; terminate removes the machine and its namespace;
 * - volumes are sparse files on loop devices, plugged into the machine as EC2's NVMe device of that volume id, grown
 *   in place by ModifyVolume (never shrunk: EBS refuses that);
 * - CreateImage copies the instance's root-disk changes as a new layer over its AMI's layers (the chain volume, a
 *   separate device, is never in it);
 * - GetConsoleOutput is the machine's console.
 *
 * Everything it makes is recorded in `<lab>/machines.json`, so `lab:down` can remove it even after a crash.
 */
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cidrContains, deleteNamespace, plugInstance, type VpcNetwork } from "../network/vpc";
import { Machine } from "./machine";

export interface InstanceRecord {
  readonly instanceId: string;
  readonly name: string;
  readonly imageId: string;
  readonly privateIp: string;
  readonly subnetCidr: string;
  readonly namespace: string;
  readonly routerDevice: string;
  readonly dir: string;
  readonly availabilityZone: string;
  readonly instanceType: string;
  /** The IAM role the instance profile names (IMDS serves its credentials). */
  readonly roleName: string;
  state: "running" | "stopped" | "terminated";
  nspawnPid: number;
  userDataBase64: string;
}

export interface VolumeRecord {
  readonly volumeId: string;
  readonly file: string;
  loopDevice?: string;
  attachedTo?: string;
}

export interface ImageRecord {
  readonly imageId: string;
  readonly layers: readonly string[];
}

export interface HypervisorRecords {
  instances: Record<string, InstanceRecord>;
  volumes: Record<string, VolumeRecord>;
  images: Record<string, ImageRecord>;
}

export interface HypervisorOptions {
  readonly labId: string;
  /** Instances are named by their Name tag, `<pool>-<host>`: the host name is what follows the pool's name. */
  readonly poolName: string;
  readonly labDir: string;
  readonly vpc: VpcNetwork;
  readonly vpcCidr: string;
  readonly subnets: readonly { readonly cidr: string; readonly id: string }[];
  /** Layers of an AMI the lab does not know (the base image): the emulator's stand-in AMI ids. */
  readonly baseLayers: readonly string[];
  readonly log: (line: string) => void;
}

type HookEvent =
  | { event: "launch"; instanceId: string; imageId: string; instanceType: string; privateIp: string; subnetId: string; availabilityZone: string; userDataBase64: string; tags: Record<string, string> }
  | { event: "stop" | "start" | "reboot" | "terminate" | "console"; instanceId: string }
  | { event: "attach"; volumeId: string; instanceId: string; device: string; sizeGiB: number }
  | { event: "detach"; volumeId: string; instanceId: string }
  | { event: "delete-volume"; volumeId: string }
  | { event: "grow-volume"; volumeId: string; sizeGiB: number }
  | { event: "image"; amiId: string; instanceId: string };


export class Hypervisor {
  readonly records: HypervisorRecords;
  private readonly machines = new Map<string, Machine>();
  private server?: Server;
  /** Set while the lab shuts down: machines exiting then are not restarted. */
  private stopping = false;

  constructor(private readonly options: HypervisorOptions) {
    this.records = existsSync(this.recordsFile) ? (JSON.parse(readFileSync(this.recordsFile, "utf8")) as HypervisorRecords) : { instances: {}, volumes: {}, images: {} };
  }

  get recordsFile(): string {
    return join(this.options.labDir, "machines.json");
  }

  private save(): void {
    const tmp = `${this.recordsFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.records, null, 2)}\n`);
    renameSync(tmp, this.recordsFile);
  }

  machine(instanceId: string): Machine | undefined {
    return this.machines.get(instanceId);
  }

  machineByName(name: string): Machine | undefined {
    const record = Object.values(this.records.instances).find((r) => r.name === name && r.state !== "terminated");
    return record ? this.machines.get(record.instanceId) : undefined;
  }

  /** Makes an AMI id stand for image layers (the lab's cached golden images, registered in the emulator). */
  registerImage(imageId: string, layers: readonly string[]): void {
    this.records.images[imageId] = { imageId, layers };
    this.save();
  }

  /** Serves the emulator's hook calls on a Unix socket. */
  async listen(socketPath: string): Promise<void> {
    rmSync(socketPath, { force: true });
    this.server = createServer((socket) => {
      let buffer = "";
      socket.on("data", (chunk) => {
        buffer += chunk.toString();
        const newline = buffer.indexOf("\n");
        if (newline < 0) return;
        const line = buffer.slice(0, newline);
        buffer = "";
        let event: HookEvent;
        try {
          event = JSON.parse(line) as HookEvent;
        } catch {
          socket.end(`${JSON.stringify({ error: "unparsable hook line" })}\n`);
          return;
        }
        this.handle(event).then(
          (reply) => socket.end(`${JSON.stringify(reply ?? {})}\n`),
          (error: Error) => {
            this.options.log(`hook ${event.event} failed: ${error.message}`);
            socket.end(`${JSON.stringify({ error: error.message })}\n`);
          },
        );
      });
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => this.server!.listen(socketPath, resolve));
  }

  async handle(event: HookEvent): Promise<object | void> {
    switch (event.event) {
      case "launch":
        return this.launch(event);
      case "stop":
        return this.stopInstance(event.instanceId);
      case "start":
        return this.startInstance(event.instanceId);
      case "reboot":
        return this.machines.get(event.instanceId)?.reboot();
      case "terminate":
        return this.terminate(event.instanceId);
      case "console":
        return { output: this.machines.get(event.instanceId)?.console() ?? "" };
      case "attach":
        return this.attach(event.volumeId, event.instanceId, event.sizeGiB);
      case "grow-volume":
        return this.grow(event.volumeId, event.sizeGiB);
      case "detach":
        return this.detach(event.volumeId);
      case "delete-volume":
        return this.deleteVolume(event.volumeId);
      case "image":
        return this.createImage(event.amiId, event.instanceId);
    }
  }

  private layersOf(imageId: string): readonly string[] {
    return this.records.images[imageId]?.layers ?? this.options.baseLayers;
  }

  private async launch(event: Extract<HookEvent, { event: "launch" }>): Promise<void> {
    const subnet = this.options.subnets.find((s) => cidrContains(s.cidr, event.privateIp));
    if (!subnet) throw new Error(`instance ${event.instanceId} at ${event.privateIp}: outside every subnet of the lab's VPC`);
    const tagName = event.tags.Name ?? event.instanceId;
    const name = tagName.startsWith(`${this.options.poolName}-`) ? tagName.slice(this.options.poolName.length + 1) : tagName;
    const short = event.instanceId.replace(/^i-/, "").slice(-8);
    const record: InstanceRecord = {
      instanceId: event.instanceId,
      name,
      imageId: event.imageId,
      privateIp: event.privateIp,
      subnetCidr: subnet.cidr,
      namespace: `pl-${this.options.labId}-${short}`,
      routerDevice: `v${short}`,
      dir: join(this.options.labDir, "machines", event.instanceId),
      availabilityZone: event.availabilityZone,
      instanceType: event.instanceType,
      // IMDS names the instance profile's role; the emulator accepts any credentials, so the name is informative.
      roleName: `${this.options.poolName}-${event.tags.Role ?? "instance"}`,
      state: "running",
      nspawnPid: 0,
      userDataBase64: event.userDataBase64,
    };
    this.records.instances[event.instanceId] = record;
    this.save();
    plugInstance(this.options.vpc, { namespace: record.namespace, routerDevice: record.routerDevice, subnetCidr: subnet.cidr, privateIp: record.privateIp, vpcCidr: this.options.vpcCidr });
    const machine = this.newMachine(record);
    machine.writeSeed(Buffer.from(event.userDataBase64, "base64"), `ip-${record.privateIp.replace(/\./g, "-")}`);
    await this.boot(record, machine);
    this.options.log(`launched ${name} (${event.instanceId}) at ${record.privateIp} from ${event.imageId}`);
  }

  private newMachine(record: InstanceRecord): Machine {
    const machine = new Machine({ id: record.instanceId, cgroupParent: this.options.labId, name: record.name, layers: this.layersOf(record.imageId), dir: record.dir, networkNamespace: record.namespace });
    for (const volume of Object.values(this.records.volumes)) {
      if (volume.attachedTo === record.instanceId && volume.loopDevice) void machine.plug({ volumeId: volume.volumeId, loopDevice: volume.loopDevice });
    }
    machine.onExit = (code) => {
      const current = this.records.instances[record.instanceId];
      if (!current || this.stopping) return;
      // A reboot from inside (`sudo reboot`, RebootInstances) ends nspawn with 133: power the machine on again.
      if (code === 133 && current.state === "running") {
        void this.boot(current, machine).catch((error: Error) => this.options.log(`${record.name}: reboot failed: ${error.message}`));
        return;
      }
      // A shutdown from inside (`sudo poweroff`) stops the instance, as on EC2 with the default shutdown behaviour.
      if (current.state === "running") {
        current.state = "stopped";
        current.nspawnPid = 0;
        this.save();
      }
    };
    this.machines.set(record.instanceId, machine);
    return machine;
  }

  private async boot(record: InstanceRecord, machine: Machine): Promise<void> {
    await machine.start();
    record.state = "running";
    record.nspawnPid = machine.nspawnPid;
    this.save();
  }

  private async stopInstance(instanceId: string): Promise<void> {
    const record = this.records.instances[instanceId];
    const machine = this.machines.get(instanceId);
    if (!record || !machine) return;
    record.state = "stopped";
    this.save();
    await machine.stop();
    record.nspawnPid = 0;
    this.save();
    this.options.log(`stopped ${record.name} (${instanceId})`);
  }

  private async startInstance(instanceId: string): Promise<void> {
    const record = this.records.instances[instanceId];
    if (!record) return;
    const machine = this.machines.get(instanceId) ?? this.newMachine(record);
    await this.boot(record, machine);
    this.options.log(`started ${record.name} (${instanceId})`);
  }

  private async terminate(instanceId: string): Promise<void> {
    const record = this.records.instances[instanceId];
    const machine = this.machines.get(instanceId);
    if (!record) return;
    record.state = "terminated";
    this.save();
    await machine?.kill();
    this.machines.delete(instanceId);
    deleteNamespace(record.namespace);
    for (const volume of Object.values(this.records.volumes)) if (volume.attachedTo === instanceId) delete volume.attachedTo;
    rmSync(record.dir, { recursive: true, force: true });
    this.save();
    this.options.log(`terminated ${record.name} (${instanceId})`);
  }

  /**
   * EBS ModifyVolume to a bigger size: the sparse file grows and the loop device is told its new capacity, so a machine
   * it is plugged into sees a bigger disk at once, as an instance sees its NVMe device grow; the filesystem on it is
   * the instance's to grow (resize2fs), as on EC2. A volume never attached has no file yet: it is made at its new size.
   */
  private grow(volumeId: string, sizeGiB: number): void {
    const volume = this.records.volumes[volumeId];
    if (!volume || !existsSync(volume.file)) return;
    const bytes = sizeGiB * 1024 ** 3;
    if (statSync(volume.file).size >= bytes) return;
    execFileSync("truncate", ["-s", `${sizeGiB}G`, volume.file]);
    if (volume.loopDevice) execFileSync("losetup", ["--set-capacity", volume.loopDevice]);
    this.options.log(`grew ${volumeId} to ${sizeGiB} GiB`);
  }

  private async attach(volumeId: string, instanceId: string, sizeGiB: number): Promise<void> {
    let volume = this.records.volumes[volumeId];
    if (!volume) {
      const dir = join(this.options.labDir, "volumes");
      mkdirSync(dir, { recursive: true });
      volume = { volumeId, file: join(dir, `${volumeId}.img`) };
      this.records.volumes[volumeId] = volume;
    }
    // Sparse: a 200 GiB volume costs only what is written to it.
    if (!existsSync(volume.file)) execFileSync("truncate", ["-s", `${sizeGiB}G`, volume.file]);
    if (!volume.loopDevice) volume.loopDevice = execFileSync("losetup", ["--find", "--show", volume.file], { encoding: "utf8" }).trim();
    volume.attachedTo = instanceId;
    this.save();
    await this.machines.get(instanceId)?.plug({ volumeId, loopDevice: volume.loopDevice });
  }

  private async detach(volumeId: string): Promise<void> {
    const volume = this.records.volumes[volumeId];
    if (!volume?.attachedTo) return;
    await this.machines.get(volume.attachedTo)?.unplug(volumeId);
    delete volume.attachedTo;
    this.save();
  }

  private deleteVolume(volumeId: string): void {
    const volume = this.records.volumes[volumeId];
    if (!volume) return;
    if (volume.loopDevice) releaseLoop(volume.loopDevice);
    rmSync(volume.file, { force: true });
    delete this.records.volumes[volumeId];
    this.save();
  }

  private async createImage(imageId: string, instanceId: string): Promise<void> {
    const record = this.records.instances[instanceId];
    if (!record) throw new Error(`CreateImage: no lab machine for ${instanceId}`);
    const machine = this.machines.get(instanceId);
    // EC2 reboots a running instance for a consistent image unless NoReboot; the bake stops the sandbox first.
    if (machine?.running) throw new Error(`CreateImage of ${record.name}: the lab images only stopped instances (stop it first)`);
    const layer = join(this.options.labDir, "images", imageId);
    mkdirSync(join(this.options.labDir, "images"), { recursive: true });
    execFileSync("cp", ["-a", "--reflink=auto", join(record.dir, "upper"), layer]);
    this.registerImage(imageId, [...this.layersOf(record.imageId), layer]);
    this.options.log(`image ${imageId} from ${record.name} (${instanceId})`);
  }

  /** Powers every machine off and releases loop devices (namespaces are removed by lab:down). */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.server?.close();
    await Promise.all([...this.machines.values()].map((m) => m.stop(20_000).catch(() => m.kill())));
    for (const volume of Object.values(this.records.volumes)) if (volume.loopDevice) releaseLoop(volume.loopDevice);
  }
}

export function releaseLoop(device: string): void {
  try {
    execFileSync("losetup", ["-d", device], { stdio: "ignore" });
  } catch {
    /* already released */
  }
}
