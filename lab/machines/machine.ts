/**
 * One lab machine: a Debian root filesystem booted with systemd as PID 1 by `systemd-nspawn --boot`, in the network
 * namespace the lab's VPC gave its instance. Its disk is an overlay: the image's layers read-only below, the
 * instance's own changes in its upper directory (kept across stop/start and reboot, as an EBS root volume is).
 * cloud-init finds the instance's user data through the NoCloud seed bound into the machine; the console (what
 * EC2's GetConsoleOutput returns) is nspawn's output, kept in a file.
 *
 * Block devices (EBS volumes) are plugged in as device nodes named the way EC2's NVMe devices are named by udev on
 * an instance (`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol…`), backed by loop devices.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface MachineSpec {
  /** The instance id. */
  readonly id: string;
  /** Its control groups live under `pool-lab/<cgroupParent>/<id>` of each hierarchy (the lab's id). */
  readonly cgroupParent: string;
  /** What logs call it (its Name tag). */
  readonly name: string;
  /** Image layers, lowest first (the base image, then each baked layer). */
  readonly layers: readonly string[];
  /** The instance's own directory: upper/ (its root disk's changes), seed/, console.log. */
  readonly dir: string;
  readonly networkNamespace: string;
}

export interface PluggedVolume {
  readonly volumeId: string;
  readonly loopDevice: string;
}

/** The device path udev gives an EBS volume on a Nitro instance: model string, then the serial (`vol` + hex). */
export function ebsDevicePath(volumeId: string): string {
  return `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`;
}

export class MachineError extends Error {
  override name = "MachineError";
}

async function waitFor(what: string, deadlineMs: number, check: () => boolean): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until) throw new MachineError(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

/** Children of a process (from /proc), e.g. the container's init under its nspawn. */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Gives a machine control groups of its own in every cgroup hierarchy this process is in (under its current groups),
 * and returns the `cgroup.procs` files to join. Without them every machine's systemd would manage the same cgroup
 * tree (nspawn with --keep-unit uses its caller's groups), and their units would fight over it (units failing with
 * 219/CGROUP at random).
 */
export function machineCgroups(relative: string): string[] {
  const procs: string[] = [];
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const [, controllers, current] = line.split(":");
    if (controllers === undefined || current === undefined) continue;
    const base = controllers === "" ? unifiedHierarchy() : join("/sys/fs/cgroup", controllers.startsWith("name=") ? controllers.slice(5) : controllers.split(",")[0]!);
    if (!existsSync(join(base, "cgroup.procs"))) continue;
    let dir = join(base, current);
    for (const part of relative.split("/")) {
      const parent = dir;
      dir = join(dir, part);
      if (!existsSync(dir)) {
        mkdirSync(dir);
        // cgroup v1's cpuset accepts no task until its cpus and mems are set: the parent's.
        for (const file of ["cpuset.cpus", "cpuset.mems"]) if (existsSync(join(parent, file))) writeFileSync(join(dir, file), readFileSync(join(parent, file)));
      }
    }
    procs.push(join(dir, "cgroup.procs"));
  }
  return procs;
}

/**
 * The cgroup v2 hierarchy. On a machine whose controllers are all on v1 hierarchies it may be mounted nowhere, yet
 * systemd-nspawn places itself by it (`0::` in /proc/self/cgroup): without a group of its own there, every nspawn put
 * its machine at the same `/payload`. Mounted (without controllers) under /run for the lab when it is not already.
 */
function unifiedHierarchy(): string {
  for (const line of readFileSync("/proc/self/mounts", "utf8").split("\n")) {
    const [, mountPoint, type] = line.split(" ");
    if (type === "cgroup2" && mountPoint) return mountPoint;
  }
  const dir = "/run/pool-ops-lab/cgroup2";
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "cgroup2", "none", dir]);
  return dir;
}

/** Removes a machine's (empty) control groups, deepest first. */
export function removeMachineCgroups(relative: string): void {
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const [, controllers, current] = line.split(":");
    if (controllers === undefined || current === undefined) continue;
    const dir = join(controllers === "" ? unifiedHierarchy() : join("/sys/fs/cgroup", controllers.startsWith("name=") ? controllers.slice(5) : controllers.split(",")[0]!), current, relative);
    removeCgroupTree(dir);
  }
}

function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeCgroupTree(join(dir, entry.name));
  try {
    rmdirSync(dir);
  } catch {
    /* still has processes: left for lab:down */
  }
}

/** The process under `nspawnPid` (children, grandchildren) that is PID 1 in its PID namespace. */
export function machineInit(nspawnPid: number): number | undefined {
  const queue = childPids(nspawnPid);
  for (let depth = 0; depth < 3 && queue.length > 0; depth++) {
    const next: number[] = [];
    for (const pid of queue) {
      try {
        const nspid = /^NSpid:\s+(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]?.trim().split(/\s+/);
        if (nspid && nspid.length > 1 && nspid[nspid.length - 1] === "1") return pid;
      } catch {
        continue; // gone
      }
      next.push(...childPids(pid));
    }
    queue.splice(0, queue.length, ...next);
  }
  return undefined;
}

export class Machine {
  /** The nspawn process, while the machine runs. */
  nspawnPid = 0;
  private exited: Promise<number | null> = Promise.resolve(null);
  private readonly volumes = new Map<string, PluggedVolume>();
  /** Called when the machine goes down by itself (shutdown or reboot from inside): exit code 133 means reboot. */
  onExit: (code: number | null) => void = () => undefined;

  constructor(readonly spec: MachineSpec) {
    mkdirSync(join(spec.dir, "upper"), { recursive: true });
    mkdirSync(join(spec.dir, "seed"), { recursive: true });
  }

  get consoleLog(): string {
    return join(this.spec.dir, "console.log");
  }

  get running(): boolean {
    return this.nspawnPid > 0 && processAlive(this.nspawnPid);
  }

  /**
   * The container's init (systemd), whose /proc/<pid>/root is the machine's root filesystem as it sees it: the
   * descendant of nspawn that is PID 1 of its own PID namespace (nspawn's short-lived helper children are not).
   */
  initPid(): number {
    if (!this.running) throw new MachineError(`${this.spec.name} (${this.spec.id}) is not running`);
    const init = machineInit(this.nspawnPid);
    if (!init) throw new MachineError(`${this.spec.name} (${this.spec.id}): its init has not started yet`);
    return init;
  }

  /** A path inside the running machine, readable and writable from the lab (through the init's root). */
  pathInside(path: string): string {
    return `/proc/${this.initPid()}/root${path.startsWith("/") ? path : `/${path}`}`;
  }

  /** Writes the NoCloud seed: meta-data (instance id, host name) and the user data, byte for byte. */
  writeSeed(userData: Buffer, localHostname: string): void {
    const seed = join(this.spec.dir, "seed");
    writeFileSync(join(seed, "meta-data"), `instance-id: ${this.spec.id}\nlocal-hostname: ${localHostname}\n`);
    writeFileSync(join(seed, "user-data"), userData);
  }

  /** Boots the machine; resolves once its init runs (not once it has finished booting). */
  async start(): Promise<void> {
    if (this.running) return;
    const [lowest] = this.spec.layers;
    if (!lowest) throw new MachineError(`${this.spec.name}: no image layers`);
    const overlay = [...this.spec.layers, join(this.spec.dir, "upper")].join(":");
    const args = [
      `--directory=${lowest}`,
      `--overlay=${overlay}:/`,
      "--boot",
      "--register=no",
      "--keep-unit",
      `--machine=${this.spec.id}`,
      `--network-namespace-path=/run/netns/${this.spec.networkNamespace}`,
      `--bind-ro=${join(this.spec.dir, "seed")}:/var/lib/cloud/seed/nocloud`,
      // The image's own resolv.conf and timezone stay (they are the image's facts, not this machine's).
      "--resolv-conf=off",
      "--timezone=off",
      "--link-journal=no",
      "--console=read-only",
      // Attached volumes are there from power-on, as EC2's NVMe devices are when an instance starts.
      ...[...this.volumes.values()].map((v) => `--bind=${v.loopDevice}:${ebsDevicePath(v.volumeId)}`),
    ];
    writeFileSync(this.consoleLog, `\n[lab] ${new Date().toISOString()} power on\n`, { flag: "a" });
    const out = openSync(this.consoleLog, "a");
    // Join the machine's own control groups, then become systemd-nspawn (same pid).
    const cgroups = machineCgroups(`pool-lab/${this.spec.cgroupParent}/${this.spec.id}`);
    const join_ = 'for procs in "$@"; do [ "$procs" = -- ] && break; echo $$ > "$procs"; shift; done; shift; exec systemd-nspawn "$@"';
    const child = spawn("sh", ["-c", join_, "sh", ...cgroups, "--", ...args], { stdio: ["ignore", out, out], detached: true });
    closeSync(out);
    child.unref();
    if (!child.pid) throw new MachineError(`${this.spec.name}: systemd-nspawn did not start`);
    this.nspawnPid = child.pid;
    this.exited = new Promise((resolve) =>
      child.once("exit", (code) => {
        this.nspawnPid = 0;
        removeMachineCgroups(`pool-lab/${this.spec.cgroupParent}/${this.spec.id}`);
        resolve(code);
        this.onExit(code);
      }),
    );
    await waitFor(`${this.spec.name}'s init to start (console: ${this.consoleLog})`, 30_000, () => {
      if (!this.running) throw new MachineError(`${this.spec.name}: systemd-nspawn exited at start:\n${this.consoleTail(20)}`);
      return machineInit(this.nspawnPid) !== undefined;
    });
  }

  /** A clean shutdown (as EC2's stop): SIGTERM makes nspawn ask the machine's systemd to power off. */
  async stop(deadlineMs = 90_000): Promise<void> {
    if (!this.running) return;
    const pid = this.nspawnPid;
    process.kill(pid, "SIGTERM");
    const done = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), deadlineMs))]);
    if (!done && processAlive(pid)) {
      process.kill(pid, "SIGKILL");
      await this.exited;
    }
  }

  /** Power cut (EC2 force stop, a crashed host): no shutdown inside. */
  async kill(): Promise<void> {
    if (!this.running) return;
    process.kill(this.nspawnPid, "SIGKILL");
    await this.exited;
  }

  /** EC2's RebootInstances: the machine's systemd reboots (SIGINT to init = ctrl-alt-del → reboot.target). */
  async reboot(): Promise<void> {
    if (!this.running) return this.start();
    process.kill(this.initPid(), "SIGINT");
  }

  consoleTail(lines: number): string {
    if (!existsSync(this.consoleLog)) return "";
    return readFileSync(this.consoleLog, "utf8").split("\n").slice(-lines).join("\n");
  }

  console(): string {
    return existsSync(this.consoleLog) ? readFileSync(this.consoleLog, "utf8") : "";
  }

  /** Plugs a block device in (hot, as EC2 AttachVolume; kept across restarts until unplugged). */
  async plug(volume: PluggedVolume): Promise<void> {
    this.volumes.set(volume.volumeId, volume);
    if (this.running) await this.makeDeviceNode(volume);
  }

  async unplug(volumeId: string): Promise<void> {
    this.volumes.delete(volumeId);
    if (!this.running) return;
    execFileSync("nsenter", ["-t", String(this.initPid()), "-m", "--", "rm", "-f", ebsDevicePath(volumeId)]);
  }

  get pluggedVolumes(): PluggedVolume[] {
    return [...this.volumes.values()];
  }

  private async makeDeviceNode(volume: PluggedVolume): Promise<void> {
    // A volume attached as the machine powers on: its init may still be coming up.
    // While nspawn starts the machine, the process that is PID 1 of its namespace may still become another one (its
    // helper, then systemd): the device node goes in through whichever init is there, tried again until it holds.
    const st = statSync(volume.loopDevice);
    const major = Math.floor(st.rdev / 256);
    const minor = st.rdev % 256;
    const path = ebsDevicePath(volume.volumeId);
    const script = `mkdir -p /dev/disk/by-id && rm -f ${path} && mknod ${path} b ${major} ${minor} && (chmod 0660 ${path}; chgrp disk ${path}) 2>/dev/null; true`;
    let lastError: unknown;
    await waitFor(`${this.spec.name}'s init, to plug ${volume.volumeId}`, 30_000, () => {
      if (!this.running) return true;
      const init = machineInit(this.nspawnPid);
      if (init === undefined) return false;
      try {
        execFileSync("nsenter", ["-t", String(init), "-m", "--", "sh", "-c", script], { stdio: "pipe" });
        return true;
      } catch (error) {
        lastError = error;
        return false;
      }
    }).catch((error: unknown) => {
      throw lastError ? new MachineError(`${(error as Error).message}: ${String((lastError as { stderr?: Buffer }).stderr ?? lastError).trim()}`) : error;
    });
  }
}
