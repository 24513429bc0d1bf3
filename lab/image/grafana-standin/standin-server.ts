/**
 * Test tooling: runs the Grafana stand-in's server from the source tree with python3, on a free loopback port, with
 * its own data, log and provisioning directories, as the Debian unit runs it (the same arguments, paths given with
 * cfg:default.paths.*). The environment is only what a test gives, as systemd gives the unit only its environment.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GRAFANA_STANDIN_PACKAGE_DIR } from "../grafana-repo";

/** Debian's python3 (what the package depends on), else whatever python3 is on PATH. */
export const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
export const STANDIN_SERVER = join(GRAFANA_STANDIN_PACKAGE_DIR, "usr/sbin/grafana-server");
export const STANDIN_HOME = join(GRAFANA_STANDIN_PACKAGE_DIR, "usr/share/grafana");

/** Why the server cannot run here, or undefined. */
export function standinServerUnavailableReason(): string | undefined {
  try {
    execFileSync(PYTHON, ["-c", "import yaml"], { stdio: "pipe" });
    return undefined;
  } catch {
    return `${PYTHON} with PyYAML is needed to run the Grafana stand-in (apt-get install python3 python3-yaml)`;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface StandinOptions {
  /** The unit's environment (GF_* variables); the listen address and port are added. */
  readonly env?: Readonly<Record<string, string>>;
  /** /etc/grafana/grafana.ini; @default the package's sample.ini (what postinst installs) */
  readonly grafanaIni?: string;
  /** Files to write before the start, by path relative to the server's directory (e.g. provisioning/…). */
  readonly files?: Readonly<Record<string, string>>;
  /** Reuse a directory from an earlier run (a restart); @default a new one */
  readonly dir?: string;
  /** Port to listen on; @default a free one */
  readonly port?: number;
  /** The --config argument; @default <dir>/grafana.ini, written from `grafanaIni` */
  readonly configPath?: string;
  /** More arguments after the unit's. */
  readonly args?: readonly string[];
}

export interface StandinRun {
  readonly dir: string;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the server has exited. */
  readonly exited: Promise<number | null>;
}

/** Spawns the server (does not wait for it). */
export async function spawnStandin(options: StandinOptions = {}): Promise<StandinRun> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "grafana-standin-"));
  const port = options.port ?? (await freePort());
  for (const [path, content] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const ini = options.configPath ?? join(dir, "grafana.ini");
  if (!options.configPath && !existsSync(ini)) writeFileSync(ini, options.grafanaIni ?? readFileSync(join(STANDIN_HOME, "conf/sample.ini")));
  const args = [
    STANDIN_SERVER, `--config=${ini}`, `--pidfile=${join(dir, "run/grafana-server.pid")}`, "--packaging=deb", `--homepath=${STANDIN_HOME}`,
    `cfg:default.paths.logs=${join(dir, "log")}`, `cfg:default.paths.data=${join(dir, "data")}`,
    `cfg:default.paths.plugins=${join(dir, "data/plugins")}`, `cfg:default.paths.provisioning=${join(dir, "provisioning")}`,
    ...(options.args ?? []),
  ];
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", GF_SERVER_HTTP_ADDR: "127.0.0.1", GF_SERVER_HTTP_PORT: String(port), ...options.env };
  const child = spawn(PYTHON, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { dir, port, url: `http://127.0.0.1:${port}`, child, output: () => output, exited };
}

/** Starts the server and waits until /api/health answers (or fails with its output if it exits or hangs). */
export async function startStandin(options: StandinOptions = {}): Promise<StandinRun> {
  const run = await spawnStandin(options);
  let exitCode: number | null | undefined;
  void run.exited.then((code) => (exitCode = code));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`the Grafana stand-in exited (${exitCode}) instead of serving:\n${run.output()}`);
    try {
      const answer = await fetch(`${run.url}/api/health`);
      if (answer.ok) return run;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      run.child.kill("SIGKILL");
      throw new Error(`the Grafana stand-in did not answer /api/health within 10 s:\n${run.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the server expecting it to refuse to start: its exit code and output (fails if it is still up after 10 s). */
export async function standinExit(options: StandinOptions = {}): Promise<{ code: number | null; output: string; dir: string }> {
  const run = await spawnStandin(options);
  const timer = setTimeout(() => run.child.kill("SIGKILL"), 10_000);
  const code = await run.exited;
  clearTimeout(timer);
  return { code, output: run.output(), dir: run.dir };
}

/** Stops a run (SIGTERM, as systemctl stop) and waits for it; removes its directory unless `keep`. */
export async function stopStandin(run: StandinRun, keep = false): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill("SIGTERM");
    await run.exited;
  }
  if (!keep) rmSync(run.dir, { recursive: true, force: true });
}
