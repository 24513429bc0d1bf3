/**
 * Terraform on the synthesised stacks, as a rollout runs it: applies limited to one host's
 * resources (`-target`, `-replace`), and each host's resource addresses in the synthesised nodes stack.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { terraform, type SynthesisedStack } from "../../tools/terraform";
import type { OpsContext } from "../context";
import { hostOfAddress } from "../plan/node-changes";
import { OpsError } from "../remote/result";

export function tail(text: string, lines = 25): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/** Every resource of each host in the synthesised nodes stack (instance, chain volume, attachment, Elastic IP). */
export function hostResourceAddresses(stack: SynthesisedStack): Map<string, { instance?: string; all: string[] }> {
  const json = JSON.parse(readFileSync(join(stack.directory, "cdk.tf.json"), "utf8")) as { resource?: Record<string, Record<string, unknown>> };
  const byHost = new Map<string, { instance?: string; all: string[] }>();
  for (const [type, resources] of Object.entries(json.resource ?? {})) {
    for (const key of Object.keys(resources)) {
      const address = `${type}.${key}`;
      const owner = hostOfAddress(address);
      if (!owner) continue;
      const entry = byHost.get(owner.host) ?? { all: [] };
      entry.all.push(address);
      if (owner.part === "instance") entry.instance = address;
      byHost.set(owner.host, entry);
    }
  }
  return byHost;
}

/** What the steps were planned from: a resumed rollout must find the same stack. */
export function stackDigest(stack: SynthesisedStack): string {
  return createHash("sha256").update(readFileSync(join(stack.directory, "cdk.tf.json"))).digest("hex");
}

export class StackTerraform {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly out: OpsContext["out"],
  ) {}

  private async run(stack: SynthesisedStack, args: string[]): Promise<{ code: number | null; text: string }> {
    const r = await terraform(stack, [...args, "-input=false", "-no-color"], this.env);
    return { code: r.code, text: `${r.stdout}\n${r.stderr}` };
  }

  async init(stack: SynthesisedStack): Promise<void> {
    if (existsSync(join(stack.directory, ".terraform"))) return;
    const init = await this.run(stack, ["init"]);
    if (init.code !== 0) throw new OpsError("-", "preflight", `terraform init in ${stack.directory} failed:\n${tail(init.text)}`, "check the backend and credentials (cdktf deploy works from here?)");
  }

  async apply(stack: SynthesisedStack, extra: string[], what: string, rerun: string): Promise<void> {
    const r = await this.run(stack, ["apply", "-auto-approve", "-lock-timeout=60s", ...extra]);
    if (r.code !== 0) throw new OpsError("-", what, `terraform apply of the ${stack.name} stack failed:\n${tail(r.text)}`, `fix what Terraform reports, then run ${rerun} again: it resumes at this step`);
    this.out.info(`    terraform: ${/Apply complete![^\n]*/.exec(r.text)?.[0] ?? "applied"}`);
  }

  /** The JSON value of one of the stack's outputs. */
  async output(stack: SynthesisedStack, name: string): Promise<unknown> {
    await this.init(stack);
    const r = await terraform(stack, ["output", "-json", name], this.env);
    if (r.code !== 0) throw new OpsError("-", "read outputs", `terraform output ${name} of the ${stack.name} stack failed:\n${tail(r.stderr)}`, "check the stack is deployed (cdktf deploy)");
    return JSON.parse(r.stdout) as unknown;
  }
}
