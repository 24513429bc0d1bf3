/**
 * Wall time of `npm run synth` on the embedded default pool: median of several runs (target ≤ 3 s).
 *   npm run bench:synth [-- --runs 7]
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const runsFlag = process.argv.indexOf("--runs");
const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 7;
const root = resolve(import.meta.dirname, "..");
const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1" };
delete env.POOL_CONFIG;

function timeOnce(command: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: root, env, stdio: "ignore" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.status}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

timeOnce("npm", ["run", "synth"]); // warm the file cache once
const times = Array.from({ length: runs }, () => timeOnce("npm", ["run", "synth"]));
console.log(`npm run synth (default pool): median ${median(times).toFixed(2)} s over ${runs} runs ` +
  `(min ${Math.min(...times).toFixed(2)} s, max ${Math.max(...times).toFixed(2)} s); target ≤ 3 s`);
const cli = Array.from({ length: 3 }, () => timeOnce("npx", ["cdktf", "synth"]));
console.log(`npx cdktf synth (same app through the cdktf CLI): median ${median(cli).toFixed(2)} s over 3 runs`);
