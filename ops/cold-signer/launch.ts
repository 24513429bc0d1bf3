/**
 * Starting the signer child (child.ts) and collecting its one reply.
 *
 * How it runs: on the Node that runs pool-ops (process.execPath), through `/bin/sh -c 'ulimit -c 0 && exec …'` so that
 * the core file size limit is 0, soft and hard, before the child's first instruction (the child checks it). From the
 * bundled CLI (bin/bundle.mjs) it is the bundle's sibling, built from the same sources in the same build; from the
 * sources (tsx, vitest) it is child.ts through tsx's loader. Its environment is reduced to what Node needs: the AWS
 * credentials go in the request, over the pipe, and no other secret of the operator's shell reaches it.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Set by bin/bundle.mjs (esbuild `define`) to the signer bundle's path; undefined when running from the sources. */
declare const __POOL_OPS_COLD_SIGNER_BUNDLE__: string | undefined;

/**
 * How long the child may take: its start (tsx transpiling its modules, the first time, takes about a second), one
 * Secrets Manager read (the SDK tries up to 3 times) and one signature.
 */
export const SIGNER_DEADLINE_MS = 60_000;

/** Environment variables the child keeps: Node's own needs, the locale, and a CA bundle the operator relies on. */
const CHILD_ENVIRONMENT = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "NODE_EXTRA_CA_CERTS"] as const;

/** The child's command line: the shell that turns core dumps off, then Node with the signer. */
export function signerCommand(): { file: string; args: string[] } {
  const bundled = typeof __POOL_OPS_COLD_SIGNER_BUNDLE__ === "string" ? __POOL_OPS_COLD_SIGNER_BUNDLE__ : undefined;
  const entry = bundled
    ? [bundled]
    : ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href, fileURLToPath(new URL("./child.ts", import.meta.url))];
  // "$0" is the first argument after the script: the Node binary; "$@" the rest.
  return { file: "/bin/sh", args: ["-c", 'ulimit -c 0 && exec "$0" "$@"', process.execPath, ...entry] };
}

export function signerEnvironment(from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of CHILD_ENVIRONMENT) if (from[name] !== undefined) env[name] = from[name]!;
  return env;
}

export interface ChildOutcome {
  /** Its stdout (the reply), whole. */
  readonly stdout: string;
  /** Its exit code, or the signal that ended it. */
  readonly exit: number | NodeJS.Signals | null;
  /** Its stderr's last lines: empty unless Node itself complained (the signer writes nothing there). */
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Runs the child with `request` on its stdin; settles when it exits (killed at the deadline). */
export function runSigner(request: string, deadlineMs = SIGNER_DEADLINE_MS): Promise<ChildOutcome> {
  const { file, args } = signerCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], env: signerEnvironment() });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, deadlineMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, exit: code ?? signal, timedOut });
    });
    // A child that died before reading its request closes the pipe: its exit says why, not this write.
    child.stdin.on("error", () => undefined);
    child.stdin.end(request);
  });
}
