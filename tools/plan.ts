/**
 * `npm run plan`: synthesise, check the account has room for the pool (the preflight: Service Quotas for Elastic IPs
 * and vCPUs, the base image), then `terraform init` + `terraform plan` for every stack in dependency order — what CI
 * runs on a pull request, and the step before `cdktf deploy` (`npm run deploy` runs the preflight first by itself).
 *
 *   npm run plan                       plans against the AWS account of your credentials (state from the backend)
 *   npm run plan -- --preflight-only   synthesises and runs the preflight only
 *   npm run plan -- --emulator         plans against a throwaway local emulator (moto), applying each stack there so
 *                                      the next one can read its outputs. The emulated account has a fresh account's
 *                                      Elastic IP quota (5): the default pool is refused as a real one would be;
 *                                      `--quota L-0263D0A3=10` gives the emulated account more
 *   npm run plan -- --summary F        also writes a Markdown summary of every stack's plan to F (CI posts it on the PR)
 *   npm run plan -- --skip-preflight   plans without the preflight (it says so)
 *   npm run plan -- --preflight-only --node-guard
 *                                      (what `npm run deploy` runs first) the preflight, then, when the nodes stack is
 *                                      deployed, its plan per host: a change that stops, replaces or removes a relay or
 *                                      producer is refused (exit 1) with the `pool-ops rollout` command to use instead
 *
 * After the nodes stack's plan it prints what the plan does to each host (nothing / in place while it runs / in place
 * with a stop / replaced / created / destroyed) and, when nodes would go down, points to `pool-ops rollout`.
 *
 * With `--emulator` and POOL_EMULATOR_ENDPOINT already set, the emulator there is used instead of a new one.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadPoolConfig } from "../config/load";
import { startAwsEmulator, type AwsEmulator } from "../lab/aws-emulator";
import { ec2Quotas, startServiceQuotasStandin, type ServiceQuotasStandin } from "../test/service-quotas-standin";
import { nodeStopWarning, nodesPlanLines } from "../ops/plan/node-changes-report";
import { NodesPlanError, planNodesStack, showNodesPlan } from "../ops/plan/read-nodes-plan";
import { planSummary, type PlannedStack } from "./plan-summary";
import { awsAccountReader } from "./preflight/account";
import { formatPreflight, preflight } from "./preflight/preflight";
import { poolRequirements } from "./preflight/requirements";
import { runCommand, stacksInOrder, terraform, terraformEnv, type SynthesisedStack } from "./terraform";

const projectRoot = resolve(import.meta.dirname, "..");

/**
 * The emulated account's quotas: Elastic IPs at AWS's default for a region (5, per the VPC quotas page); vCPUs at a
 * value of the stand-in's own (a new account's real value varies by account) that admits the default pool's 16.
 */
const EMULATED_ACCOUNT_QUOTAS: Readonly<Record<string, number>> = { "L-0263D0A3": 5, "L-1216C47A": 32 };

interface PlanOptions {
  readonly emulator: boolean;
  readonly summaryFile?: string;
  readonly preflightOnly: boolean;
  readonly skipPreflight: boolean;
  readonly nodeGuard: boolean;
  readonly quotas: Record<string, number>;
}

function parseOptions(argv: readonly string[]): PlanOptions | string {
  const quotas: Record<string, number> = { ...EMULATED_ACCOUNT_QUOTAS };
  let summaryFile: string | undefined;
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--summary" || arg === "--quota") {
      const value = argv[++i];
      if (!value) return `${arg} needs a value`;
      if (arg === "--summary") summaryFile = value;
      else {
        const match = /^(L-[0-9A-F]{8})=(\d+)$/.exec(value);
        if (!match) return `--quota expects CODE=VALUE such as L-0263D0A3=10, got ${value}`;
        quotas[match[1]!] = Number(match[2]);
      }
    } else if (["--emulator", "--preflight-only", "--skip-preflight", "--node-guard"].includes(arg)) flags.add(arg);
    else return `unknown option ${arg} (expected --emulator, --summary FILE, --preflight-only, --skip-preflight, --node-guard, --quota CODE=N)`;
  }
  if (argv.includes("--quota") && !flags.has("--emulator")) return "--quota sets the emulated account's quotas: it needs --emulator";
  if (flags.has("--preflight-only") && flags.has("--skip-preflight")) return "--preflight-only and --skip-preflight exclude each other";
  return {
    emulator: flags.has("--emulator"),
    ...(summaryFile ? { summaryFile } : {}),
    preflightOnly: flags.has("--preflight-only"),
    skipPreflight: flags.has("--skip-preflight"),
    nodeGuard: flags.has("--node-guard"),
    quotas,
  };
}

/** Synthesised stacks' Terraform JSON, for the preflight's count of what will be made. */
function stackJson(stacks: readonly SynthesisedStack[]) {
  return stacks.map((s) => JSON.parse(readFileSync(join(s.directory, "cdk.tf.json"), "utf8")) as { resource?: Record<string, Record<string, Record<string, unknown>>> });
}

/** Runs the preflight; returns false (after printing why) when the pool does not fit the account. */
async function accountHasRoom(stacks: readonly SynthesisedStack[]): Promise<boolean> {
  const { config } = loadPoolConfig();
  const reader = await awsAccountReader({ region: config.region, endpoint: config.emulator?.endpoint });
  try {
    const report = await preflight(poolRequirements(config, stackJson(stacks)), reader);
    (report.ok ? process.stdout : process.stderr).write(formatPreflight(report));
    return report.ok;
  } finally {
    reader.close();
  }
}

async function main(argv: string[]): Promise<number> {
  // As pool-ops does (ops/cli.ts): the pinned SDK clients' notice about their later releases' Node version.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const options = parseOptions(argv);
  if (typeof options === "string") return fail(options);
  const planned: PlannedStack[] = [];
  const outdir = process.env.CDKTF_OUTDIR ?? join(projectRoot, "cdktf.out");
  let emulator: AwsEmulator | undefined;
  let quotasStandin: ServiceQuotasStandin | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: outdir };
  try {
    if (options.emulator && process.env.POOL_EMULATOR_ENDPOINT) {
      console.log(`emulator: the one at ${process.env.POOL_EMULATOR_ENDPOINT} (POOL_EMULATOR_ENDPOINT)`);
    } else if (options.emulator) {
      emulator = await startAwsEmulator();
      quotasStandin = await startServiceQuotasStandin(emulator.endpoint, ec2Quotas(options.quotas));
      // The synth subprocess and this process's config both read it.
      env.POOL_EMULATOR_ENDPOINT = process.env.POOL_EMULATOR_ENDPOINT = quotasStandin.endpoint;
      const shown = Object.entries(options.quotas).map(([code, value]) => `${code}=${value}`).join(", ");
      console.log(`emulator: moto on ${emulator.endpoint}, Service Quotas stand-in (${shown}) in front on ${quotasStandin.endpoint} (throwaway; nothing reaches AWS)`);
    }
    const synth = await runCommand("npx", ["tsx", "main.ts"], { cwd: projectRoot, env, echo: true });
    if (synth.code !== 0) return 1;
    const stacks = stacksInOrder(outdir);
    if (options.skipPreflight) console.warn("preflight skipped (--skip-preflight): the account's quotas and the base image were not checked");
    else if (!(await accountHasRoom(stacks))) return 1;
    const tfEnv = terraformEnv(join(outdir, ".terraform-cli"), env);
    if (options.nodeGuard) {
      const nodes = stacks.find((s) => s.name === "nodes");
      if (nodes && !(await deployKeepsNodesUp(nodes, tfEnv))) return 1;
    }
    if (options.preflightOnly) return 0;

    for (const [i, stack] of stacks.entries()) {
      console.log(`\n== ${stack.name}: terraform init + plan`);
      const init = await terraform(stack, ["init", "-input=false", "-no-color"], tfEnv);
      if (init.code !== 0) {
        console.error(init.stderr);
        return fail(`terraform init failed for stack ${stack.name}`);
      }
      const plan = await terraform(stack, ["plan", "-input=false", "-no-color", "-out=plan.tfplan"], tfEnv, true);
      const nodes = plan.code === 0 && stack.name === "nodes" ? await showNodesPlan(stack, join(stack.directory, "plan.tfplan"), tfEnv) : undefined;
      if (nodes) {
        console.log(`\n== nodes: what the plan does to each host\n${nodesPlanLines(nodes).join("\n")}`);
        const warning = nodeStopWarning(nodes);
        if (warning) console.warn(`\nwarning: ${warning}`);
      }
      planned.push({ name: stack.name, ok: plan.code === 0, output: plan.code === 0 ? plan.stdout : `${plan.stdout}\n${plan.stderr}`, ...(nodes ? { nodes } : {}) });
      if (options.summaryFile) writeFileSync(options.summaryFile, planSummary(planned));
      if (plan.code !== 0) return fail(`terraform plan failed for stack ${stack.name}`);
      if (options.emulator && i < stacks.length - 1) {
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
    await quotasStandin?.stop();
    await emulator?.stop();
  }
}

/**
 * `npm run deploy`'s guard: a deployed nodes stack whose plan would stop, replace or remove a relay or producer is
 * refused, since `cdktf deploy` would do it to every node at once, the leader included. A stack never deployed (no
 * state) or one that cannot be planned yet (its network or security outputs change in the same deploy) is let through
 * with a note: cdktf shows its own plan before applying.
 */
async function deployKeepsNodesUp(nodes: SynthesisedStack, env: NodeJS.ProcessEnv): Promise<boolean> {
  const init = await terraform(nodes, ["init", "-input=false", "-no-color"], env);
  const state = init.code === 0 ? await terraform(nodes, ["state", "list"], env) : undefined;
  if (!state || state.code !== 0 || state.stdout.trim() === "") {
    console.log("node guard: the nodes stack is not deployed yet: nothing of it can stop");
    return true;
  }
  try {
    const plan = await planNodesStack(nodes, env, "node-guard.tfplan");
    const warning = nodeStopWarning(plan);
    if (!warning) {
      console.log("node guard: the nodes stack's plan stops no relay or producer");
      return true;
    }
    console.error(`node guard: what the plan does to each host\n${nodesPlanLines(plan).join("\n")}\nrefused: ${warning}`);
    return false;
  } catch (error) {
    if (!(error instanceof NodesPlanError)) throw error;
    console.warn(`node guard: could not plan the nodes stack before the deploy (${error.message.split("\n")[0]}); review cdktf's plan of it before approving`);
    return true;
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
