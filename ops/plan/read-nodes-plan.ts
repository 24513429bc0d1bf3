/** Planning the synthesised nodes stack and reading the plan per host (`terraform plan -out`, `terraform show -json`). */
import { join } from "node:path";
import { terraform, type SynthesisedStack } from "../../tools/terraform";
import { nodesPlan, type NodesPlan } from "./node-changes";
import { parsePlanJson } from "./plan-json";

export class NodesPlanError extends Error {}

function tail(text: string, lines = 25): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/** The per-host reading of a saved plan file in the stack's directory. */
export async function showNodesPlan(stack: SynthesisedStack, planFile: string, env: NodeJS.ProcessEnv): Promise<NodesPlan> {
  const shown = await terraform(stack, ["show", "-json", "-no-color", planFile], env);
  if (shown.code !== 0) throw new NodesPlanError(`terraform show -json ${planFile} in ${stack.directory} failed:\n${tail(shown.stderr)}`);
  return nodesPlan(parsePlanJson(shown.stdout));
}

/** Plans the stack (its own plan file, so `npm run plan`'s is left alone) and reads it per host. */
export async function planNodesStack(stack: SynthesisedStack, env: NodeJS.ProcessEnv, planFile = "pool-ops-rollout.tfplan"): Promise<NodesPlan> {
  const plan = await terraform(stack, ["plan", "-input=false", "-no-color", "-lock-timeout=60s", `-out=${planFile}`], env);
  if (plan.code !== 0) throw new NodesPlanError(`terraform plan of the ${stack.name} stack failed:\n${tail(`${plan.stdout}\n${plan.stderr}`)}`);
  return showNodesPlan(stack, join(stack.directory, planFile), env);
}
