/**
 * `npm run bench:lab`: the lab's budgets (issue 16) measured on this machine — prints figures, asserts nothing.
 *
 * - `npm run lab:up` wall time, as an operator runs it (npm, tsx, every machine booted and cloud-init done), with the
 *   lab's caches as this machine has them (it says whether the base image was cached; target ≤ 90 s when it is);
 * - the lab's memory once up, and again after `--settle` seconds: per machine, its control group's charge (cgroup v1
 *   `memory.usage_in_bytes` and `memory.stat` rss/cache; v2 `memory.current` and anon/file), read from the cgroup its
 *   `systemd-nspawn` runs in (lab/machines/machine.ts gives each machine its own); for the supervisor's processes
 *   (emulator, hypervisor, VPC services, package proxy: lab/supervisor.ts), which run outside the machines' groups,
 *   the sum of their RSS and of their PSS (/proc/<pid>/smaps_rollup: shared pages split between sharers) — target
 *   ≤ 4 GiB in all;
 * - `npm run lab:down` wall time;
 * - with `--base`, a base image build into a temporary cache (POOL_LAB_CACHE), as on a fresh machine (target ≤ 5 min).
 *
 *   flock /run/pool-ops-lab-mutex npm run bench:lab [-- --settle 30] [--base]
 *
 * Needs root (the lab). Run it under the lab mutex: another lab beside it changes every figure.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { uniqueLabId } from "../lab/harness";
import { baseImageKey, ensureBaseImage } from "../lab/image/base-image";
import { labCacheDir } from "../lab/image/cache";
import { labUnavailableReason, listLabs, loadLabState, REPO_DIR, type LabState } from "../lab/lab";
import type { HypervisorRecords } from "../lab/machines/hypervisor";

const { values } = parseArgs({ options: { settle: { type: "string" }, base: { type: "boolean" } } });
const SETTLE_SECONDS = Number(values.settle ?? 30);
const why = labUnavailableReason();
if (why) {
  console.error(`bench:lab needs the lab: ${why}`);
  process.exit(1);
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/** Runs an npm script as an operator would, returning its wall time; its output goes to a log kept for failures. */
async function timedNpm(args: string[]): Promise<{ seconds: number; output: string }> {
  const started = performance.now();
  const out = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn("npm", ["run", "--silent", ...args], { cwd: REPO_DIR, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c));
    child.stderr.on("data", (c: Buffer) => (output += c));
    child.on("close", (code) => resolve({ code, output }));
  });
  const seconds = (performance.now() - started) / 1000;
  if (out.code !== 0) throw new Error(`npm run ${args.join(" ")} failed (exit ${out.code}):\n${out.output.slice(-3000)}`);
  return { seconds, output: out.output };
}

interface CgroupMemory {
  /** The group's whole charge: v1 memory.usage_in_bytes, v2 memory.current. */
  readonly charged: number;
  /** Anonymous memory (v1 total_rss, v2 anon): what the machine's processes hold themselves. */
  readonly anon: number;
  /** Page cache (v1 total_cache, v2 file): files read or written inside the machine, reclaimable. */
  readonly cache: number;
  readonly path: string;
}

/** The memory cgroup a process is in, and its charge (cgroup v1's memory hierarchy, or v2's unified one). */
function cgroupMemoryOf(pid: number): CgroupMemory | undefined {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
  const v1 = lines.map((l) => l.split(":")).find(([, controllers]) => controllers?.split(",").includes("memory"));
  const stat = (dir: string) => Object.fromEntries(readFileSync(join(dir, "memory.stat"), "utf8").trim().split("\n").map((l) => l.split(" ") as [string, string]).map(([k, v]) => [k, Number(v)]));
  if (v1) {
    const dir = join("/sys/fs/cgroup/memory", v1[2]!);
    if (!existsSync(join(dir, "memory.usage_in_bytes"))) return undefined;
    const s = stat(dir);
    return { charged: Number(readFileSync(join(dir, "memory.usage_in_bytes"), "utf8")), anon: s.total_rss ?? 0, cache: s.total_cache ?? 0, path: dir };
  }
  const v2 = lines.find((l) => l.startsWith("0::"))?.slice(3);
  if (v2 === undefined) return undefined;
  const dir = join("/sys/fs/cgroup", v2);
  if (!existsSync(join(dir, "memory.current"))) return undefined;
  const s = stat(dir);
  return { charged: Number(readFileSync(join(dir, "memory.current"), "utf8")), anon: s.anon ?? 0, cache: s.file ?? 0, path: dir };
}

function children(): Map<number, number[]> {
  const byParent = new Map<number, number[]>();
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      byParent.set(ppid, [...(byParent.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* gone */
    }
  }
  return byParent;
}

/** RSS and PSS (kB fields of smaps_rollup) of a process tree, leaving out the subtrees rooted at `exclude`. */
function treeMemory(root: number, exclude: ReadonlySet<number>): { rss: number; pss: number; processes: string[] } {
  const byParent = children();
  const queue = [root];
  let rss = 0;
  let pss = 0;
  const processes: string[] = [];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (exclude.has(pid)) continue;
    queue.push(...(byParent.get(pid) ?? []));
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0) * 1024;
      rss += field("Rss");
      pss += field("Pss");
      processes.push(`${readFileSync(`/proc/${pid}/comm`, "utf8").trim()} ${mib(field("Rss"))}`);
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return { rss, pss, processes };
}

interface MemorySample {
  readonly machines: { name: string; memory: CgroupMemory }[];
  readonly supervisor: { rss: number; pss: number; processes: string[] };
}

function sampleMemory(state: LabState): MemorySample {
  const records = JSON.parse(readFileSync(join(state.dir, "machines.json"), "utf8")) as HypervisorRecords;
  const machines: MemorySample["machines"] = [];
  const nspawns = new Set<number>();
  for (const host of state.hosts) {
    const record = records.instances[host.instanceId];
    if (!record?.nspawnPid) throw new Error(`${host.name}: no running machine in ${state.dir}/machines.json`);
    nspawns.add(record.nspawnPid);
    const memory = cgroupMemoryOf(record.nspawnPid);
    if (!memory) throw new Error(`${host.name}: no memory cgroup for its systemd-nspawn (pid ${record.nspawnPid})`);
    machines.push({ name: host.name, memory });
  }
  return { machines, supervisor: treeMemory(state.supervisorPid, nspawns) };
}

function printSample(title: string, sample: MemorySample): number {
  console.log(`\n${title}`);
  console.log("  machine         charged    anon (rss)   page cache   (cgroup of its systemd-nspawn)");
  for (const m of sample.machines) console.log(`  ${m.name.padEnd(14)}  ${mib(m.memory.charged).padStart(8)}   ${mib(m.memory.anon).padStart(9)}   ${mib(m.memory.cache).padStart(9)}`);
  const charged = sample.machines.reduce((a, m) => a + m.memory.charged, 0);
  const anon = sample.machines.reduce((a, m) => a + m.memory.anon, 0);
  const cache = sample.machines.reduce((a, m) => a + m.memory.cache, 0);
  console.log(`  ${"machines".padEnd(14)}  ${mib(charged).padStart(8)}   ${mib(anon).padStart(9)}   ${mib(cache).padStart(9)}`);
  console.log(`  supervisor (emulator, hypervisor, VPC services, package proxy): RSS ${mib(sample.supervisor.rss)}, PSS ${mib(sample.supervisor.pss)}`);
  console.log(`    ${sample.supervisor.processes.join(", ")}`);
  const total = charged + sample.supervisor.pss;
  console.log(`  lab total: ${mib(total)} (${(total / 1024 / MiB).toFixed(2)} GiB; machines' cgroup charge + supervisor PSS), of which anonymous ${mib(anon + sample.supervisor.pss)}; target ≤ 4 GiB`);
  return total;
}

const baseCached = existsSync(join(labCacheDir(), `base-${baseImageKey()}`, ".complete"));
const id = uniqueLabId();
console.log(`bench:lab: lab ${id}; base image ${baseCached ? "cached" : "NOT cached (lab:up builds it: the figure includes the build)"} in ${labCacheDir()}`);
let up = false;
try {
  const upRun = await timedNpm(["lab:up", "--", "--id", id]);
  up = true;
  const state = loadLabState(id);
  console.log(`lab:up: ${upRun.seconds.toFixed(1)} s wall (${state.hosts.length} machines: ${state.hosts.map((h) => h.name).join(", ")}); target ≤ 90 s with the base image cached`);
  printSample("memory right after lab:up", sampleMemory(state));
  await new Promise((r) => setTimeout(r, SETTLE_SECONDS * 1000));
  printSample(`memory ${SETTLE_SECONDS} s later`, sampleMemory(state));
} finally {
  if (up || listLabs().includes(id)) {
    const down = await timedNpm(["lab:down", "--", id]);
    console.log(`\nlab:down: ${down.seconds.toFixed(1)} s wall`);
  }
}

if (values.base) {
  // A fresh machine's cache: nothing built. Only the base image (debootstrap + the image's packages from Debian's archive).
  const cache = mkdtempSync("/var/tmp/pool-lab-bench-cache-");
  process.env.POOL_LAB_CACHE = cache;
  try {
    const started = performance.now();
    await ensureBaseImage((line) => console.log(`base image: ${line}`));
    console.log(`base image build (fresh cache ${cache}): ${((performance.now() - started) / 1000).toFixed(0)} s wall; target ≤ 5 min`);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}
