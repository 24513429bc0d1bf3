/**
 * Test tooling for integration tests on the lab: bring a lab up once per test file, run pool-ops as an operator
 * would (a spawned `bin/pool-ops.mjs` process), bring the lab down.
 *
 *   const lab = useLab();                       // beforeAll: labUp, afterAll: labDown
 *   describe.skipIf(LAB_SKIP)(`…${LAB_SKIP_NOTE}`, () => {
 *     it("…", async () => { const r = await runPoolOps(lab(), ["ping"]); expect(r.code).toBe(0); });
 *   });
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { labDown, labUnavailableReason, labUp, REPO_DIR, type LabState, type LabUpOptions } from "./lab";

/** Why lab tests are skipped here (not root, no `ip netns`, no sshd…), or undefined when they run. */
export const LAB_SKIP = labUnavailableReason();
/** Appended to a describe title so the skip reason shows in the report. */
export const LAB_SKIP_NOTE = LAB_SKIP ? ` [skipped: ${LAB_SKIP}]` : "";
if (LAB_SKIP) console.warn(`lab integration tests skipped: ${LAB_SKIP}`);

export const POOL_OPS_BIN = join(REPO_DIR, "bin", "pool-ops.mjs");

export function uniqueLabId(): string {
  return `t${randomBytes(3).toString("hex")}`;
}

/**
 * How long a lab may take to come up: every machine booted and cloud-init done (about a minute on an idle 2-core
 * machine, up to 5 minutes with another lab booting beside it), plus the base image's one-time build (about a minute
 * more) when this machine has none yet.
 */
export const LAB_UP_DEADLINE_MS = 600_000;
/** A lab deployed by `cdktf deploy` (the AWS provider's waiters: minutes), plus a first bake when none is cached. */
export const CDKTF_LAB_UP_DEADLINE_MS = 900_000;
/** How long labDown may take: every machine shut down cleanly (SIGKILL after that). */
export const LAB_DOWN_DEADLINE_MS = 120_000;

export interface TestLabOptions extends LabUpOptions {
  /**
   * Boot the monitoring host too. No pool-ops command reaches it (it is not in the nodes stack's inventory, as on
   * AWS), and its first boot — Prometheus, Grafana and their dependencies installed from the archive — costs about as
   * much as the rest of a quick lab together (lab up measured 99 s without it, 182 s with it, on this kind of
   * machine): a test file that does not look at it leaves it out. `lab/lab.int.test.ts` boots it and checks it, and
   * `npm run lab:up` always has it. Ignored for `deploy: "cdktf"`, where Terraform makes every instance the stacks have.
   * @default false
   */
  readonly withMonitoring?: boolean;
}

/** Registers beforeAll/afterAll hooks for a lab with a unique id; returns a getter for its state. */
export function useLab(options: TestLabOptions = {}): () => LabState {
  const { withMonitoring = false, ...upOptions } = options;
  const cdktf = options.deploy === "cdktf";
  const withoutHosts = withMonitoring || cdktf ? upOptions.withoutHosts : [...(upOptions.withoutHosts ?? []), "monitoring"];
  let state: LabState | undefined;
  beforeAll(async () => {
    if (LAB_SKIP) return;
    state = await labUp({ id: uniqueLabId(), ...upOptions, withoutHosts });
  }, cdktf ? CDKTF_LAB_UP_DEADLINE_MS : LAB_UP_DEADLINE_MS);
  afterAll(async () => {
    if (state) await labDown(state);
  }, LAB_DOWN_DEADLINE_MS);
  return () => {
    if (!state) throw new Error("the lab is not up (skipped, or labUp failed in beforeAll)");
    return state;
  };
}

export interface PoolOpsRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** stdout parsed as JSON (when the run used --json and printed JSON). */
  json<T = unknown>(): T;
}

/** The environment that points pool-ops at a lab (what `source .lab/<id>/env.sh` sets). */
export function labEnv(lab: LabState): Record<string, string> {
  return {
    POOL_CONFIG: lab.files.poolConfig,
    POOL_OPS_INVENTORY: lab.files.inventory,
    POOL_OPS_KNOWN_HOSTS: lab.files.knownHosts,
    POOL_OPS_IDENTITY: lab.files.identity,
    POOL_OPS_AUDIT_LOG: join(lab.dir, "audit.log"),
  };
}

/** Runs `pool-ops ARGS…` against the lab as a separate process, like an operator at a shell. */
export function runPoolOps(lab: LabState | undefined, args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<PoolOpsRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [POOL_OPS_BIN, ...args], {
      cwd: REPO_DIR,
      env: { ...process.env, NO_COLOR: "1", ...(lab ? labEnv(lab) : {}), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        durationMs: Date.now() - started,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`pool-ops ${args.join(" ")} did not print JSON (exit ${code}):\nstdout: ${stdout}\nstderr: ${stderr}`);
          }
        },
      });
    });
  });
}

/** A Fleet on the lab's files, for tests that use the library API (Connection, Group) rather than the CLI. */
export async function labFleet(lab: LabState, overrides: { ssh?: Partial<import("../config/schema").PoolConfig["ssh"]>; knownHostsFile?: string } = {}) {
  const { readFileSync } = await import("node:fs");
  const { loadPoolConfigFile } = await import("../config/load");
  const { loadInventoryFile } = await import("../ops/remote/inventory");
  const { Fleet } = await import("../ops/remote/fleet");
  const { HostKeyPolicy } = await import("../ops/remote/host-keys");
  const config = loadPoolConfigFile(lab.files.poolConfig);
  const inventory = loadInventoryFile(lab.files.inventory);
  return new Fleet(inventory, {
    user: config.ssh.user,
    privateKey: readFileSync(lab.files.identity, "utf8"),
    hostKeys: new HostKeyPolicy({ knownHostsFile: overrides.knownHostsFile ?? lab.files.knownHosts, pinned: inventory.hostKeys }),
    ssh: { ...config.ssh, ...overrides.ssh },
  });
}

/**
 * Starts `pool-ops ARGS…` held at a step checkpoint (POOL_OPS_PAUSE_AT); `paused` resolves once it says so, the test
 * does what the drill needs, then `child.kill("SIGUSR2")` lets it go on; `done` resolves with its result.
 */
export function startPausedPoolOps(lab: LabState, args: readonly string[], step: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [POOL_OPS_BIN, ...args], {
    cwd: REPO_DIR,
    env: { ...process.env, NO_COLOR: "1", ...labEnv(lab), ...env, POOL_OPS_PAUSE_AT: step },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  const paused = new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
      if (stderr.includes(`paused at ${step}`)) resolve();
    });
    child.on("close", () => reject(new Error(`pool-ops ${args.join(" ")} ended before pausing at ${step}:\n${stdout}\n${stderr}`)));
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, stdout, stderr: signal ? `${stderr}\n[killed by ${signal}]` : stderr })),
  );
  paused.catch(() => undefined);
  return { child, paused, done };
}

/**
 * Waits until pool-ops reaches a host over SSH (a machine that was just started or rebooted: its boot, then sshd);
 * fails after `deadlineMs` with the last answer.
 */
export async function waitForSsh(lab: LabState, host: string, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last: PoolOpsRun | undefined;
  while (Date.now() < until) {
    last = await runPoolOps(lab, ["ping", "-H", host], { timeoutMs: 30_000 });
    if (last.code === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${host} did not answer SSH within ${deadlineMs / 1000} s of booting: ${last?.stdout ?? ""}${last?.stderr ?? ""}`);
}
