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

export interface AwsEmulator {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * moto's WSGI app under werkzeug with threads off (what `moto_server` runs, minus `threaded=True`), with one gap
 * closed: moto frees a terminated instance's private IPs only when Python garbage-collects the instance, which never
 * happens while the backend lists it, so re-creating an instance at its fixed address (Terraform's `-replace`, as
 * `image rollout` does) fails with "IP already in use" (a 500 the provider retries for minutes). EC2 frees them at
 * termination; so does this.
 */
const SINGLE_THREADED_MOTO = `
import signal
import sys
from werkzeug.serving import run_simple
from moto.ec2.models.instances import Instance
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

_terminate = Instance.terminate
def terminate_and_free_ips(self):
    state = _terminate(self)
    subnet = self.ec2_backend.get_subnet(self.subnet_id) if self.subnet_id else None
    for ip in list(getattr(self, "_private_ips", []) or []):
        if subnet is not None:
            subnet.del_subnet_ip(ip)
    return state
Instance.terminate = terminate_and_free_ips

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
app = DomainDispatcherApplication(create_backend_app)
run_simple(sys.argv[1], int(sys.argv[2]), app, threaded=False, use_reloader=False)
`;

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
export async function startAwsEmulator(): Promise<AwsEmulator> {
  const port = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(PYTHON, ["-c", SINGLE_THREADED_MOTO, "127.0.0.1", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: false,
    // AWS managed policies (AmazonSSMManagedInstanceCore, …) exist in the emulator only when loaded explicitly.
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: "true" },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
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
