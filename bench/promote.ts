/**
 * `npm run bench:promote`: time from `pool-ops promote --yes` starting to the new leader forging (as the command
 * measures it: confirmed on the node's metric), back and forth between the producers on a fresh lab with the AWS
 * emulator (SSM), no added latency; the stand-ins are started before timing. Prints each run and the median
 * (target ≤ 3 s), and the whole process's wall time. Needs root.
 *
 *   npm run bench:promote [-- --runs 6]
 */
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { labEnv, POOL_OPS_BIN, uniqueLabId } from "../lab/harness";
import { labDown, labUnavailableReason, labUp, REPO_DIR } from "../lab/lab";
import { provisionLabPool } from "../lab/pool-provision";

const { values } = parseArgs({ options: { runs: { type: "string" } } });
const RUNS = Number(values.runs ?? 6);
const why = labUnavailableReason();
if (why) {
  console.error(`bench:promote needs the lab and the emulator: ${why}`);
  process.exit(1);
}

const lab = await labUp({ id: uniqueLabId() });
try {
  const pool = await provisionLabPool(lab);
  await pool.fleet.close();
  const toForging: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [POOL_OPS_BIN, "promote", "--yes", "--json", "--aws-endpoint", lab.awsEndpoint], {
        cwd: REPO_DIR,
        env: { ...process.env, NO_COLOR: "1", ...labEnv(lab) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c));
      child.stderr.on("data", (c: Buffer) => (stderr += c));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    wall.push(performance.now() - started);
    if (out.code !== 0) throw new Error(`promote failed (exit ${out.code}): ${out.stderr}`);
    const result = JSON.parse(out.stdout) as { promoted: string; forgingAfterMs: number };
    toForging.push(result.forgingAfterMs);
    console.log(`run ${i + 1}: ${result.promoted} forging after ${(result.forgingAfterMs / 1000).toFixed(2)} s (process ${(wall[i]! / 1000).toFixed(2)} s)`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`promote, start to new leader forging (lab, 0 ms added latency, ${RUNS} runs): median ${(median(toForging) / 1000).toFixed(2)} s, target ≤ 3 s; whole process median ${(median(wall) / 1000).toFixed(2)} s`);
} finally {
  await labDown(lab);
}
