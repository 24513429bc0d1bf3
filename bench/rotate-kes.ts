/**
 * `npm run bench:rotate-kes`: end-to-end time of `pool-ops rotate-kes --yes --force` on a fresh lab with the AWS
 * emulator (Secrets Manager, SSM), no added latency: preflight, signing, pushes to both producers, secrets, SIGHUP
 * and verification on the leader's metrics. Prints each run and the median (target ≤ 5 s). Needs root.
 *
 *   npm run bench:rotate-kes [-- --runs 5]
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { labEnv, POOL_OPS_BIN, uniqueLabId } from "../lab/harness";
import { labDown, labUnavailableReason, labUp, REPO_DIR } from "../lab/lab";
import { provisionLabPool } from "../lab/pool-provision";
import { kesPeriodAt } from "../ops/cardano";

const { values } = parseArgs({ options: { runs: { type: "string" } } });
const RUNS = Number(values.runs ?? 5);

const why = labUnavailableReason();
if (why) {
  console.error(`bench:rotate-kes needs the lab and the emulator: ${why}`);
  process.exit(1);
}

const lab = await labUp({ id: uniqueLabId() });
try {
  const pool = await provisionLabPool(lab, { kesPeriod: kesPeriodAt(new Date(), "preprod") - 1 });
  await pool.fleet.close();
  const stateDir = mkdtempSync(join(tmpdir(), "bench-rotate-kes-"));
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [POOL_OPS_BIN, "rotate-kes", "--yes", "--force", "--aws-endpoint", lab.awsEndpoint], {
        cwd: REPO_DIR,
        env: { ...process.env, NO_COLOR: "1", ...labEnv(lab), POOL_OPS_STATE_DIR: stateDir },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c));
      child.on("close", (code) => resolve({ code, stderr }));
    });
    const ms = performance.now() - started;
    if (r.code !== 0) throw new Error(`rotate-kes failed (exit ${r.code}): ${r.stderr}`);
    times.push(ms);
    console.log(`run ${i + 1}: ${(ms / 1000).toFixed(2)} s`);
  }
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  console.log(`rotate-kes end to end (lab, 0 ms added latency, ${RUNS} runs): median ${(median / 1000).toFixed(2)} s, target ≤ 5 s`);
} finally {
  await labDown(lab);
}
