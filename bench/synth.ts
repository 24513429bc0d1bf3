/**
 * Wall time of `npm run synth` on the embedded default pool: median of several runs (target ≤ 3 s), with warm caches
 * (one untimed run first fills the file cache and tsx's transform cache). Prints the conditions with the figures:
 * the Node the synth runs on and the machine's load average before and after, since other work on a shared
 * machine slows every run; and the CPU time the runs used (user + system, every process of the run), which other
 * work changes much less than the wall time.
 *   npm run bench:synth [-- --runs 7]
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";

const runsFlag = process.argv.indexOf("--runs");
const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 7;
const root = resolve(import.meta.dirname, "..");
const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1" };
delete env.POOL_CONFIG;

interface Timing {
  readonly wall: number;
  readonly cpu: number;
}

/** One run's wall time, and its CPU time as bash's `times` reports it for the shell's children. */
function timeOnce(command: string, args: string[]): Timing {
  const start = process.hrtime.bigint();
  const result = spawnSync("bash", ["-c", '"$@" >/dev/null 2>&1 || exit 90; times', "bash", command, ...args], { cwd: root, env, encoding: "utf8" });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status})`);
  // `times`: the shell's own user and system time, then its children's: "0m1.234s 0m0.321s".
  const children = result.stdout.trim().split("\n")[1] ?? "";
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return { wall, cpu: seconds };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The 1-minute load average (Linux), or "n/a". */
const load = (): string => {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ")[0]!;
  } catch {
    return "n/a";
  }
};

const nodeUsed = spawnSync("npm", ["exec", "--", "node", "--version"], { cwd: root, env, encoding: "utf8" }).stdout.trim();
console.log(`Node ${nodeUsed} (npm scripts' node), ${cpus().length} cores; load average before: ${load()}`);
timeOnce("npm", ["run", "synth"]); // warm the file cache once
const timings = Array.from({ length: runs }, () => timeOnce("npm", ["run", "synth"]));
const walls = timings.map((t) => t.wall);
console.log(`npm run synth (default pool): median ${median(walls).toFixed(2)} s over ${runs} runs ` +
  `(min ${Math.min(...walls).toFixed(2)} s, max ${Math.max(...walls).toFixed(2)} s; CPU median ${median(timings.map((t) => t.cpu)).toFixed(2)} s); target ≤ 3 s`);
const cli = Array.from({ length: 3 }, () => timeOnce("npx", ["cdktf", "synth"]));
console.log(`npx cdktf synth (same app through the cdktf CLI): median ${median(cli.map((t) => t.wall)).toFixed(2)} s over 3 runs ` +
  `(CPU median ${median(cli.map((t) => t.cpu)).toFixed(2)} s)`);
console.log(`load average after: ${load()}`);
