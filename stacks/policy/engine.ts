/**
 * Runs the policy rules at synth time. Each stack gets a validation that checks its own resources against every rule,
 * with the whole app in view (rules follow references across stacks). `app.synth()`, `cdktf synth` and
 * `Testing.fullSynth` run validations and fail on a violation; the message names the rule and the resource.
 */
import { TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";
import type { PoolConfig } from "../../config/schema";
import { exemptionsOf } from "./exemptions";
import type { PolicyContext, PolicyResource, PolicyRule } from "./rule";
import { POLICY_RULES } from "./rules";

interface ConfiguredStack extends TerraformStack {
  readonly config: PoolConfig;
}

interface StackJson {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value?: unknown }>;
}

const REFERENCE = /^\$\{([A-Za-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\.([^}]*))?\}$/;

export interface PolicyFinding {
  readonly ruleId: string;
  readonly resource: PolicyResource;
  readonly reason: string;
  readonly threat: string;
}

export class PolicyModel implements PolicyContext {
  readonly resources: PolicyResource[] = [];
  private readonly outputs = new Map<string, { stack: string; value: unknown }>();
  private readonly byAddress = new Map<string, PolicyResource>();
  private readonly constructsByPath = new Map<string, IConstruct>();

  constructor(
    readonly config: PoolConfig,
    stacks: readonly TerraformStack[],
  ) {
    for (const stack of stacks) {
      const json = stack.toTerraform() as StackJson;
      for (const [type, byName] of Object.entries(json.resource ?? {})) {
        for (const [name, raw] of Object.entries(byName)) {
          const { ["//"]: meta, ...config } = raw;
          const path = ((meta as { metadata?: { path?: string } } | undefined)?.metadata?.path ?? `${stack.node.id}/${name}`) as string;
          const resource: PolicyResource = { stack: stack.node.id, type, name, path, config };
          this.resources.push(resource);
          this.byAddress.set(`${stack.node.id}:${type}.${name}`, resource);
        }
      }
      for (const [name, output] of Object.entries(json.output ?? {})) {
        this.outputs.set(name, { stack: stack.node.id, value: output.value });
      }
      for (const construct of stack.node.findAll()) this.constructsByPath.set(construct.node.path, construct);
    }
  }

  referenced(from: PolicyResource, value: unknown): PolicyResource | undefined {
    return this.resolve(from.stack, value, 0);
  }

  private resolve(stack: string, value: unknown, depth: number): PolicyResource | undefined {
    if (typeof value !== "string" || depth > 4) return undefined;
    const match = REFERENCE.exec(value);
    if (!match) return undefined;
    const [, type, name, rest] = match;
    if (type === "data" && name === "terraform_remote_state") {
      // ${data.terraform_remote_state.<source>.outputs.<output>}: follow the output into the source stack.
      const outputName = /outputs\.([^.]+)$/.exec(rest ?? "")?.[1];
      const output = outputName ? this.outputs.get(outputName) : undefined;
      return output ? this.resolve(output.stack, output.value, depth + 1) : undefined;
    }
    return this.byAddress.get(`${stack}:${type}.${name}`);
  }

  referencing(target: PolicyResource, type: string, attribute: string): PolicyResource[] {
    return this.resources.filter(
      (candidate) => candidate.type === type && this.referencesAttribute(candidate, attribute, target),
    );
  }

  private referencesAttribute(candidate: PolicyResource, attribute: string, target: PolicyResource): boolean {
    const values = ([] as unknown[]).concat(candidate.config[attribute] ?? []);
    return values.some((value) => this.referenced(candidate, value) === target);
  }

  /** Findings for the resources of one stack, exemptions applied. */
  check(stackId: string, rules: readonly PolicyRule[] = POLICY_RULES): PolicyFinding[] {
    const findings: PolicyFinding[] = [];
    for (const resource of this.resources.filter((r) => r.stack === stackId)) {
      const construct = this.constructsByPath.get(resource.path) ?? this.constructsByPath.get(parentPath(resource.path));
      const exempt = new Set(construct ? exemptionsOf(construct).map((e) => e.ruleId) : []);
      for (const rule of rules) {
        if (!rule.resourceTypes.includes(resource.type) || exempt.has(rule.id)) continue;
        let outcome;
        try {
          outcome = rule.check(resource, this);
        } catch (error) {
          outcome = { status: "non-compliant" as const, reason: `the check failed: ${(error as Error).message}` };
        }
        if (outcome.status === "non-compliant") {
          findings.push({ ruleId: rule.id, resource, reason: outcome.reason, threat: rule.threat });
        }
      }
    }
    return findings;
  }
}

function parentPath(path: string): string {
  return path.split("/").slice(0, -1).join("/");
}

export function formatFinding(finding: PolicyFinding): string {
  const { resource } = finding;
  return `policy ${finding.ruleId} violated by ${resource.type}.${resource.name} (${resource.path}): ${finding.reason}. Threat: ${finding.threat}`;
}

const models = new WeakMap<IConstruct, PolicyModel>();

function modelFor(stack: ConfiguredStack): PolicyModel {
  const root = stack.node.root;
  let model = models.get(root);
  if (!model) {
    const stacks = root.node.findAll().filter((c): c is TerraformStack => TerraformStack.isStack(c));
    model = new PolicyModel(stack.config, stacks);
    models.set(root, model);
  }
  return model;
}

/** Adds the policy validation to a stack. Called by every pool stack's constructor. */
export function attachPolicyChecks(stack: ConfiguredStack): void {
  stack.node.addValidation({
    validate: () => modelFor(stack).check(stack.node.id).map(formatFinding),
  });
}
