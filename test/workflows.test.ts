/**
 * The CI workflows parse, and every command they run exists here: npm scripts in package.json, binaries among the
 * dependencies, files in the repository. Actions are pinned to a major version, Terraform to the tested version.
 */
import { describe, expect, test } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { PROJECT_ROOT } from "./support";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string | boolean;
  with?: Record<string, unknown>;
}
interface Workflow {
  name: string;
  on: unknown;
  env?: Record<string, string>;
  jobs: Record<string, { steps: Step[]; permissions?: Record<string, string>; environment?: string; needs?: string | string[] }>;
}

const dir = join(PROJECT_ROOT, ".github", "workflows");
const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
const binaries = new Set(["cdktf", "tsx", "vitest", "tsc"]);
const deps = { ...pkg.dependencies, ...pkg.devDependencies };

const workflows = readdirSync(dir)
  .filter((f) => f.endsWith(".yml"))
  .map((file) => ({ file, workflow: parseYaml(readFileSync(join(dir, file), "utf8")) as Workflow }));

/** Every command line of a step's script, comments and shell keywords aside. */
function commandLines(run: string): string[] {
  return run
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

describe("GitHub workflows", () => {
  test("both workflows exist and parse", () => {
    expect(workflows.map((w) => w.file).sort()).toEqual(["deploy.yml", "pull-request.yml"]);
    for (const { workflow } of workflows) expect(Object.keys(workflow.jobs).length).toBeGreaterThan(0);
  });

  test("every npm script, npx binary and repository file a job runs exists", () => {
    for (const { file, workflow } of workflows) {
      for (const [jobName, job] of Object.entries(workflow.jobs)) {
        for (const step of job.steps) {
          for (const line of commandLines(step.run ?? "")) {
            for (const m of line.matchAll(/npm run ([a-z:-]+)/g)) expect(pkg.scripts[m[1]!], `${file} ${jobName}: npm run ${m[1]}`).toBeDefined();
            for (const m of line.matchAll(/npx ([a-z-]+)/g)) {
              expect(binaries.has(m[1]!), `${file} ${jobName}: npx ${m[1]} is not a known project binary`).toBe(true);
              if (m[1] === "cdktf") expect(deps["cdktf-cli"]).toBe("0.21.0");
            }
            for (const m of line.matchAll(/bash ((?:scripts|\.ci)\/[\w./-]+)/g)) expect(existsSync(join(PROJECT_ROOT, m[1]!)), `${file}: ${m[1]}`).toBe(true);
          }
        }
      }
    }
  });

  test("actions pinned to a major version; Terraform pinned to the tested 1.11.4", () => {
    for (const { file, workflow } of workflows) {
      expect(workflow.env?.TERRAFORM_VERSION, file).toBe("1.11.4");
      for (const job of Object.values(workflow.jobs)) {
        for (const step of job.steps) if (step.uses) expect(step.uses, file).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
      }
    }
  });

  test("the pull request plans with OIDC credentials and posts the plan; deploy needs an approved environment", () => {
    const pr = workflows.find((w) => w.file === "pull-request.yml")!.workflow;
    expect(pr.jobs.plan!.permissions).toMatchObject({ "id-token": "write", "pull-requests": "write" });
    const planSteps = pr.jobs.plan!.steps;
    expect(planSteps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials"))?.with?.["role-to-assume"]).toBe("${{ vars.AWS_PLAN_ROLE_ARN }}");
    expect(planSteps.some((s) => s.run?.includes("npm run plan -- --summary plan-summary.md"))).toBe(true);
    expect(planSteps.some((s) => s.run?.includes("gh pr comment"))).toBe(true);
    expect(pr.jobs.test!.steps.some((s) => s.run?.includes("bash scripts/test.sh"))).toBe(true);
    const deploy = workflows.find((w) => w.file === "deploy.yml")!.workflow;
    expect(Object.keys(deploy.on as object)).toEqual(["workflow_dispatch"]);
    expect(deploy.jobs.deploy!.environment).toBe("production");
  });

  test("deploy: the preflight and a plan of every stack come before the approval, and the preflight again before cdktf deploy", () => {
    const deploy = workflows.find((w) => w.file === "deploy.yml")!.workflow;
    const index = (steps: Step[], pattern: RegExp) => steps.findIndex((s) => commandLines(s.run ?? "").some((l) => pattern.test(l)));
    // The review job: no environment (it runs before the approval), the read-only plan role, the same plan as a PR's.
    const review = deploy.jobs.review!;
    expect(review.environment).toBeUndefined();
    expect(review.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials"))?.with?.["role-to-assume"]).toBe("${{ vars.AWS_PLAN_ROLE_ARN }}");
    const plan = review.steps[index(review.steps, /^npm run plan -- --summary plan-summary\.md$/)];
    expect(plan?.if).toBe("inputs.plan");
    // Without a plan (a first deploy) the preflight still runs.
    const preflightOnly = review.steps[index(review.steps, /^npm run plan -- --preflight-only$/)];
    expect(preflightOnly?.if).toBe("${{ !inputs.plan }}");
    expect(review.steps.some((s) => s.run?.includes('>> "$GITHUB_STEP_SUMMARY"'))).toBe(true);
    // The deploy job waits for the review, and runs the preflight itself, after its credentials and before cdktf deploy.
    const job = deploy.jobs.deploy!;
    expect(job.needs).toBe("review");
    const credentials = job.steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials"));
    const preflight = index(job.steps, /^npm run plan -- --preflight-only$/);
    const apply = index(job.steps, /^npx cdktf deploy /);
    expect(credentials, "deploy: credentials").toBeGreaterThanOrEqual(0);
    expect(preflight, "deploy: a step running npm run plan -- --preflight-only").toBeGreaterThan(credentials);
    expect(apply, "deploy: the cdktf deploy step").toBeGreaterThan(preflight);
    expect(job.steps[preflight]!.if, "the deploy's preflight is unconditional").toBeUndefined();
    expect(pkg.scripts.predeploy).toBe("tsx tools/plan.ts --preflight-only --node-guard");
  });
});
