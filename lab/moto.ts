/** Test tooling: a private moto_server (the AWS emulator) on a free loopback port, stopped by the test. */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export interface Emulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Why emulator tests cannot run here, or undefined. */
export async function motoUnavailableReason(): Promise<string | undefined> {
  return await new Promise((resolve) => {
    const probe = spawn("moto_server", ["--help"], { stdio: "ignore" });
    probe.on("error", () => resolve("moto_server is not on PATH (pip install 'moto[server]')"));
    probe.on("exit", () => resolve(undefined));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function startMoto(): Promise<Emulator> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  let exited = false;
  child.on("exit", () => (exited = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error("moto_server exited at start");
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok || response.status < 500) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.on("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
