/**
 * `npm run bench:push`: pushes the same file to every node of a lab (through the bastion) with pool-ops and with
 * Fabric (Debian's python3-fabric, bench/fabric-push.py: ThreadingGroup with a gateway Connection), first with no
 * added latency, then with 50 ms more round-trip time between the operator and the bastion (netem: 25 ms each way),
 * the link that crosses the internet in a real pool. pool-ops is measured twice: cold (every run makes its own
 * connections, as Fabric does) and with `pool-ops agent` running (connections kept between commands, as ssh's
 * ControlPersist keeps them for Ansible). Prints wall times (whole process, as an operator waits for it) and the
 * ratios. Not a timed test: figures only. Needs root (it brings up its own lab, or uses LAB_ID's).
 *
 *   npm run bench:push [-- --runs 5 --size-kib 64 --rtt-ms 50]
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { labDown, labHost, labUnavailableReason, labUp, loadLabState, REPO_DIR, type LabState } from "../lab/lab";
import { netemAvailable, setLatency } from "../lab/lab-hosts";
import { startLatencyProxy } from "../lab/latency-proxy";
import { labEnv, POOL_OPS_BIN } from "../lab/harness";

const { values } = parseArgs({ options: { runs: { type: "string" }, "size-kib": { type: "string" }, "rtt-ms": { type: "string" } } });
const RUNS = Number(values.runs ?? 5);
const SIZE = Number(values["size-kib"] ?? 64) * 1024;
const RTT = Number(values["rtt-ms"] ?? 50);
const REMOTE = "/var/tmp/bench-push.bin";

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_DIR, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c));
    child.stderr.on("data", (c: Buffer) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The files each tool is pointed at: the lab's own, or copies that reach the bastion through the latency proxy. */
interface Target {
  readonly inventory: string;
  readonly knownHosts: string;
}

/** Where pool-ops keeps its agent socket for the bench (its own, so an operator's agent is never used). */
const STATE_DIR = mkdtempSync(join(tmpdir(), "bench-push-"));

function poolOpsEnv(lab: LabState, target: Target): Record<string, string> {
  return { ...labEnv(lab), POOL_OPS_INVENTORY: target.inventory, POOL_OPS_KNOWN_HOSTS: target.knownHosts, POOL_OPS_STATE_DIR: STATE_DIR };
}

async function poolOpsAgent(lab: LabState, target: Target, action: "start" | "stop"): Promise<void> {
  const r = await run(process.execPath, [POOL_OPS_BIN, "agent", action], poolOpsEnv(lab, target));
  if (r.code !== 0) throw new Error(`pool-ops agent ${action} failed (${r.code}): ${r.stdout}${r.stderr}`);
}

async function poolOps(lab: LabState, target: Target, file: string, via: "direct" | "agent"): Promise<{ wall: number; push: number }> {
  const r = await run(process.execPath, [POOL_OPS_BIN, ...(via === "direct" ? ["--no-agent"] : []), "--json", "--yes", "--role", "relay,producer", "put", "--owner", "cardano", "--group", "cardano", "--mode", "0640", file, REMOTE], poolOpsEnv(lab, target));
  if (r.code !== 0) throw new Error(`pool-ops put failed (${r.code}): ${r.stdout}${r.stderr}`);
  const result = JSON.parse(r.stdout) as { durationMs: number; results: { status: string }[] };
  if (!result.results.every((x) => x.status === "changed")) throw new Error(`pool-ops: not every host changed: ${r.stdout}`);
  return { wall: r.ms, push: result.durationMs };
}

async function fabric(lab: LabState, target: Target, file: string): Promise<{ wall: number; push: number }> {
  const r = await run("/usr/bin/python3", [join(REPO_DIR, "bench", "fabric-push.py"), target.inventory, target.knownHosts, lab.files.identity, "admin", file, REMOTE]);
  if (r.code !== 0) throw new Error(`fabric push failed (${r.code}): ${r.stderr}`);
  const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { seconds: number; hosts: Record<string, string> };
  const bad = Object.entries(result.hosts).filter(([, v]) => v !== "ok");
  if (bad.length > 0) throw new Error(`fabric: ${JSON.stringify(bad)}`);
  return { wall: r.ms, push: result.seconds * 1000 };
}

type Timing = { wall: number; push: number };

async function measure(lab: LabState, target: Target, label: string): Promise<void> {
  const cold: Timing[] = [];
  const warm: Timing[] = [];
  const fab: Timing[] = [];
  const fresh = (i: number) => {
    // A fresh file every run, so no tool can skip an unchanged target.
    const file = join(lab.dir, `bench-${i}.bin`);
    writeFileSync(file, randomBytes(SIZE));
    return file;
  };
  await poolOpsAgent(lab, target, "start"); // connects to every host now: the warm runs measure only the push
  try {
    for (let i = 0; i < RUNS; i++) {
      // Alternate who goes first.
      const order: Array<() => Promise<void>> = [
        async () => void cold.push(await poolOps(lab, target, fresh(i), "direct")),
        async () => void warm.push(await poolOps(lab, target, fresh(i), "agent")),
        async () => void fab.push(await fabric(lab, target, fresh(i))),
      ];
      for (const step of i % 2 === 0 ? order : order.reverse()) await step();
    }
  } finally {
    await poolOpsAgent(lab, target, "stop");
  }
  const wall = (xs: Timing[]) => median(xs.map((x) => x.wall));
  const push = (xs: Timing[]) => median(xs.map((x) => x.push));
  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padStart(7);
  const line = (name: string, xs: Timing[]) =>
    `  ${name.padEnd(24)} ${fmt(wall(xs))} wall (push ${fmt(push(xs))})${xs === fab ? "" : `   fabric/pool-ops ${(wall(fab) / wall(xs)).toFixed(1)}× wall, ${(push(fab) / push(xs)).toFixed(1)}× push`}`;
  console.log(label);
  console.log(line("pool-ops, cold", cold));
  console.log(line("pool-ops, agent running", warm));
  console.log(line("fabric", fab));
}

const why = labUnavailableReason();
if (why) {
  console.error(`bench:push: ${why}`);
  process.exit(2);
}
const ownLab = !process.env.LAB_ID;
const lab = ownLab ? await labUp({ id: `b${randomBytes(2).toString("hex")}` }) : loadLabState(process.env.LAB_ID!);
try {
  const nodes = lab.hosts.filter((h) => h.role !== "bastion").length;
  console.log(`push ${SIZE / 1024} KiB to ${nodes} nodes through the bastion, atomically (owner, mode, .bak, rename), median of ${RUNS} runs`);
  console.log("wall = whole process as an operator waits for it; push = the tool's own timing from before connecting to done\n");
  const direct: Target = { inventory: lab.files.inventory, knownHosts: lab.files.knownHosts };
  await measure(lab, direct, "no added latency");
  if (netemAvailable()) {
    setLatency(lab, { operatorRttMs: RTT });
    await measure(lab, direct, `+${RTT} ms RTT (netem)`);
  } else {
    // No netem in this kernel: the operator reaches the bastion through a loopback proxy that delays each direction.
    const bastion = labHost(lab, "bastion");
    const proxy = await startLatencyProxy({ target: { host: bastion.address, port: 22 }, oneWayMs: RTT / 2 });
    try {
      const doc = JSON.parse(readFileSync(lab.files.inventory, "utf8")) as { inventory: { value: Record<string, unknown> & { bastion: object } } };
      doc.inventory.value.bastion = { ...doc.inventory.value.bastion, publicIp: proxy.host };
      doc.inventory.value.bastionPort = proxy.port;
      const viaProxy: Target = { inventory: join(lab.dir, "bench-inventory.json"), knownHosts: join(lab.dir, "bench-known_hosts") };
      writeFileSync(viaProxy.inventory, JSON.stringify(doc));
      const bastionKey = readFileSync(lab.files.knownHosts, "utf8").split("\n").find((l) => l.startsWith(`${bastion.address} `))!;
      writeFileSync(viaProxy.knownHosts, `${readFileSync(lab.files.knownHosts, "utf8")}${bastionKey.replace(bastion.address, `[${proxy.host}]:${proxy.port}`)}\n`);
      await measure(lab, viaProxy, `+${RTT} ms RTT (delay proxy)`);
    } finally {
      await proxy.close();
    }
  }
} finally {
  if (netemAvailable()) setLatency(lab, { operatorRttMs: 0 });
  if (ownLab) await labDown(lab);
  rmSync(STATE_DIR, { recursive: true, force: true });
}
