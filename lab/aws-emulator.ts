/**
 * The AWS emulator for tests: a fresh moto server on a free loopback port per test run (resource names are global
 * per emulator process, so sharing one between runs gives "already exists").
 *
 * It serves one request at a time. `moto_server` answers on threads, but moto's backends are not thread-safe (its
 * documentation says so): under Terraform's parallel requests a request can fail with a 500 after its change was
 * made, the provider retries, and the retry is refused ("InvalidPermission.Duplicate"). Serialised, every request
 * sees a consistent backend; moto answers in milliseconds, so Terraform's parallelism costs little.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export interface AwsEmulator {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** moto with the lab's gaps closed and, optionally, its EC2 hooks: lab/emulator/moto_lab.py. */
const MOTO_LAB = fileURLToPath(new URL("./emulator/moto_lab.py", import.meta.url));

export interface AwsEmulatorOptions {
  /** Unix socket of the lab's hypervisor: EC2 instance, volume and image calls act on lab machines. @default none */
  readonly hooksSocket?: string;
  /** Also serve on this Unix socket (the lab's VPC-endpoint stand-in reaches the emulator through it). @default none */
  readonly unixSocket?: string;
  /** Copy the emulator's own log (requests, Python tracebacks) to this stream as well. @default not copied */
  readonly log?: (chunk: string) => void;
}

/** The Python that has moto: the one `moto_server` is installed with is `python3` on this kind of machine. */
const PYTHON = process.env.POOL_EMULATOR_PYTHON ?? "python3";

export function emulatorAvailable(): boolean {
  return spawnSync(PYTHON, ["-c", "import moto.server"], { encoding: "utf8" }).status === 0;
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    return response.status < 500;
  } catch {
    return false;
  }
}

/** Starts the emulator and polls until it answers (deadline 30 s). */
export async function startAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const port = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const args = [MOTO_LAB, "127.0.0.1", String(port), ...(options.unixSocket ? [options.unixSocket] : [])];
  const child: ChildProcess = spawn(PYTHON, args, {
    stdio: ["ignore", "ignore", "pipe"],
    detached: false,
    // AWS managed policies (AmazonSSMManagedInstanceCore, …) exist in the emulator only when loaded explicitly.
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: "true", ...(options.hooksSocket ? { POOL_LAB_HOOKS: options.hooksSocket } : {}) },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    options.log?.(chunk.toString());
  });
  const deadline = Date.now() + 30_000;
  while (!(await answers(endpoint))) {
    if (child.exitCode !== null) throw new Error(`the AWS emulator (moto) exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the AWS emulator (moto) did not answer on ${endpoint} within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        // Already gone (a test may stop the emulator mid-run): exited, or killed by a signal.
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}
