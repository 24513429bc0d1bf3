/**
 * `npm run plan`: synthesise, then `terraform init` + `terraform plan` for every stack in dependency order — what CI
 * runs on a pull request, runnable by hand.
 *
 *   npm run plan                 plans against the AWS account of your credentials (stacks' state from the backend)
 *   npm run plan -- --emulator   plans against a throwaway local emulator (moto), applying each stack there so the
 *                                next one can read its outputs
 *   npm run plan -- --summary F  also writes a Markdown summary of every stack's plan to F (CI posts it on the PR)
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { planSummary, type PlannedStack } from "./plan-summary";
import { startAwsEmulator, type AwsEmulator } from "../lab/aws-emulator";
import { runCommand, stacksInOrder, terraform, terraformEnv } from "./terraform";

const projectRoot = resolve(import.meta.dirname, "..");

async function main(argv: string[]): Promise<number> {
  const onEmulator = argv.includes("--emulator");
  const summaryAt = argv.indexOf("--summary");
  const summaryFile = summaryAt >= 0 ? argv[summaryAt + 1] : undefined;
  if (summaryAt >= 0 && !summaryFile) return fail("--summary needs a file name");
  const unknown = argv.filter((a, i) => a.startsWith("-") && a !== "--emulator" && a !== "--summary" && i !== summaryAt + 1);
  if (unknown.length > 0) return fail(`unknown option ${unknown.join(", ")} (expected --emulator, --summary FILE)`);
  const planned: PlannedStack[] = [];
  const outdir = process.env.CDKTF_OUTDIR ?? join(projectRoot, "cdktf.out");
  let emulator: AwsEmulator | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: outdir };
  try {
    if (onEmulator) {
      emulator = await startAwsEmulator();
      env.POOL_EMULATOR_ENDPOINT = emulator.endpoint;
      console.log(`emulator: moto on ${emulator.endpoint} (throwaway; nothing reaches AWS)`);
    }
    const synth = await runCommand("npx", ["tsx", "main.ts"], { cwd: projectRoot, env, echo: true });
    if (synth.code !== 0) return 1;
    const tfEnv = terraformEnv(join(outdir, ".terraform-cli"), env);
    const stacks = stacksInOrder(outdir);
    for (const [i, stack] of stacks.entries()) {
      console.log(`\n== ${stack.name}: terraform init + plan`);
      const init = await terraform(stack, ["init", "-input=false", "-no-color"], tfEnv);
      if (init.code !== 0) {
        console.error(init.stderr);
        return fail(`terraform init failed for stack ${stack.name}`);
      }
      const plan = await terraform(stack, ["plan", "-input=false", "-no-color", "-out=plan.tfplan"], tfEnv, true);
      planned.push({ name: stack.name, ok: plan.code === 0, output: plan.code === 0 ? plan.stdout : `${plan.stdout}\n${plan.stderr}` });
      if (summaryFile) writeFileSync(summaryFile, planSummary(planned));
      if (plan.code !== 0) return fail(`terraform plan failed for stack ${stack.name}`);
      if (emulator && i < stacks.length - 1) {
        const apply = await terraform(stack, ["apply", "-input=false", "-no-color", "plan.tfplan"], tfEnv);
        if (apply.code !== 0) {
          console.error(apply.stderr);
          return fail(`applying ${stack.name} on the emulator failed`);
        }
      }
    }
    console.log(`\nplanned ${stacks.length} stacks: ${stacks.map((s) => s.name).join(", ")}`);
    return 0;
  } finally {
    await emulator?.stop();
  }
}

function fail(message: string): number {
  console.error(`plan failed: ${message}`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`plan failed: ${error.message}`);
    process.exit(1);
  },
);
