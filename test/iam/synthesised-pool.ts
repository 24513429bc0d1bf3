/**
 * The synthesised pool as an IAM evaluator needs it: every stack's Terraform JSON with its references resolved to the
 * concrete ARNs and ids AWS would give them in one (made-up) account, and the policies read out of it — identity
 * policies per role, trust policies, and the resource policies of secrets, keys and endpoints.
 *
 * References resolve the way the provider fills them in: a role's `arn` is `arn:aws:iam::<account>:role/<name>`, a
 * secret's `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`, and so on. A reference this
 * module does not know fails loudly, naming it, so a new kind of resource cannot slip past the evaluation.
 */
import { Testing } from "cdktf";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { PoolConfig } from "../../config/schema";
import { buildPoolStacks } from "../../stacks/pool-app";
import { testApp } from "../pool-fixtures";

export const ACCOUNT = "111122223333";

type Json = Record<string, unknown>;
type Resources = Record<string, Record<string, Json>>;

interface StackJson {
  readonly resource?: Resources;
  readonly data?: Resources;
  readonly output?: Record<string, { value: unknown }>;
}

/** A made-up but well-formed id for a resource, stable per Terraform address. */
function fakeId(address: string, length: number): string {
  return createHash("sha256").update(address).digest("hex").slice(0, length);
}

function fakeKeyId(address: string): string {
  const h = fakeId(address, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export class SynthesisedPool {
  readonly stacks: Record<string, StackJson>;
  readonly region: string;
  readonly account = ACCOUNT;

  constructor(readonly config: PoolConfig) {
    const app = testApp();
    const stacks = buildPoolStacks(app, config);
    this.stacks = Object.fromEntries(Object.entries(stacks).map(([name, stack]) => [name, JSON.parse(Testing.synth(stack)) as StackJson]));
    this.region = config.region;
  }

  /** Every resource of a type across the stacks, with its stack and Terraform name. */
  resourcesOf(type: string): { stack: string; name: string; config: Json }[] {
    return Object.entries(this.stacks).flatMap(([stack, json]) => Object.entries(json.resource?.[type] ?? {}).map(([name, config]) => ({ stack, name, config })));
  }

  /** Every resource type the stacks synthesise (data sources prefixed `data.`). */
  resourceTypes(): string[] {
    const types = new Set<string>();
    for (const json of Object.values(this.stacks)) {
      for (const type of Object.keys(json.resource ?? {})) types.add(type);
      for (const type of Object.keys(json.data ?? {})) types.add(`data.${type}`);
    }
    return [...types].sort();
  }

  /** A string with every `${…}` reference replaced by its value, in the context of `stack`. */
  resolve(stack: string, text: string): string {
    return text.replace(/\$\{([^}]+)\}/g, (_, expression: string) => this.value(stack, expression));
  }

  /** A JSON value (policy document, list of ARNs) with every string resolved. */
  resolveDeep<T>(stack: string, value: T): T {
    if (typeof value === "string") return this.resolve(stack, value) as T;
    if (Array.isArray(value)) return value.map((v) => this.resolveDeep(stack, v)) as T;
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolveDeep(stack, v)])) as T;
    return value;
  }

  private value(stack: string, expression: string): string {
    const remote = /^data\.terraform_remote_state\.cross-stack-reference-input-([a-z]+)\.outputs\.([^.]+)$/.exec(expression);
    if (remote) {
      const [, source, output] = remote as unknown as [string, string, string];
      const value = this.stacks[source]?.output?.[output]?.value;
      if (typeof value !== "string") throw new Error(`unresolved cross-stack reference ${expression} (no output ${output} in stack ${source})`);
      return this.resolve(source, value);
    }
    if (/^data\.aws_caller_identity\.[^.]+\.account_id$/.test(expression)) return ACCOUNT;
    const match = /^([a-z0-9_]+)\.([^.]+)\.([a-z_]+)$/.exec(expression);
    if (!match) throw new Error(`unresolved reference \${${expression}} in stack ${stack}`);
    const [, type, name, attribute] = match as unknown as [string, string, string, string];
    // A per-stack synth (Testing.synth) leaves a cross-stack reference as a direct one: look in every stack.
    const owner = this.stacks[stack]?.resource?.[type]?.[name] ? stack : Object.keys(this.stacks).find((s) => this.stacks[s]?.resource?.[type]?.[name]);
    const resource = owner ? this.stacks[owner]!.resource![type]![name]! : undefined;
    if (!owner || !resource) throw new Error(`reference \${${expression}} names no resource of the pool's stacks`);
    stack = owner;
    const resourceName = typeof resource.name === "string" ? this.resolve(stack, resource.name) : undefined;
    const address = `${stack}/${type}.${name}`;
    const { region } = this;
    const arns: Record<string, () => string | undefined> = {
      aws_iam_role: () => `arn:aws:iam::${ACCOUNT}:role/${resourceName}`,
      aws_iam_instance_profile: () => `arn:aws:iam::${ACCOUNT}:instance-profile/${resourceName}`,
      aws_secretsmanager_secret: () => `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${resourceName}-${fakeId(address, 6)}`,
      aws_kms_key: () => `arn:aws:kms:${region}:${ACCOUNT}:key/${fakeKeyId(address)}`,
      aws_cloudwatch_log_group: () => `arn:aws:logs:${region}:${ACCOUNT}:log-group:${resourceName}`,
      aws_sns_topic: () => `arn:aws:sns:${region}:${ACCOUNT}:${resourceName}`,
      aws_ssm_parameter: () => `arn:aws:ssm:${region}:${ACCOUNT}:parameter${resourceName}`,
      aws_dynamodb_table: () => `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${resourceName}`,
    };
    const ids: Record<string, () => string | undefined> = {
      aws_iam_role: () => resourceName,
      aws_kms_key: () => fakeKeyId(address),
      aws_vpc_endpoint: () => `vpce-${fakeId(address, 17)}`,
      aws_secretsmanager_secret: () => arns.aws_secretsmanager_secret!(),
    };
    const found =
      attribute === "arn" ? arns[type]?.() : attribute === "id" ? ids[type]?.() : attribute === "name" ? resourceName : attribute === "key_id" && type === "aws_kms_key" ? fakeKeyId(address) : undefined;
    if (found === undefined) throw new Error(`no value known for \${${expression}} (add ${type}.${attribute} to test/iam/synthesised-pool.ts)`);
    return found;
  }
}

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: readonly Json[];
}

export interface NamedPolicy {
  readonly name: string;
  readonly policy: PolicyDocument;
}

interface ManagedPolicyFile {
  readonly arn: string;
  readonly document: PolicyDocument;
}

/** AWS managed policies the pool attaches, from their documents kept as data beside this module. */
export function managedPolicy(arn: string): PolicyDocument {
  const name = /^arn:aws:iam::aws:policy\/(.+)$/.exec(arn)?.[1];
  if (!name) throw new Error(`${arn} is not an AWS managed policy`);
  const url = new URL(`./aws-managed-policies/${name}.json`, import.meta.url);
  let file: ManagedPolicyFile;
  try {
    file = JSON.parse(readFileSync(url, "utf8")) as ManagedPolicyFile;
  } catch {
    throw new Error(`the pool attaches ${arn}: add its document as test/iam/aws-managed-policies/${name}.json`);
  }
  return file.document;
}

/** The policies that decide what each principal of the pool may do, resolved. */
export interface PoolPolicies {
  /** Identity policies by role name (inline and managed). */
  readonly identity: ReadonlyMap<string, readonly NamedPolicy[]>;
  /** Trust policies by role name. */
  readonly trust: ReadonlyMap<string, PolicyDocument>;
  /** Resource policies by resource ARN: secrets and KMS keys. */
  readonly resource: ReadonlyMap<string, PolicyDocument>;
  /** Endpoint policies by endpoint id. */
  readonly endpoint: ReadonlyMap<string, { readonly service: string; readonly policy: PolicyDocument }>;
  /** Role ARN by role name. */
  readonly roleArn: ReadonlyMap<string, string>;
}

export function poolPolicies(pool: SynthesisedPool): PoolPolicies {
  const parse = (stack: string, text: unknown) => pool.resolveDeep(stack, JSON.parse(String(text))) as PolicyDocument;
  const identity = new Map<string, NamedPolicy[]>();
  const add = (role: string, policy: NamedPolicy) => identity.set(role, [...(identity.get(role) ?? []), policy]);
  const trust = new Map<string, PolicyDocument>();
  const roleArn = new Map<string, string>();
  for (const { stack, config } of pool.resourcesOf("aws_iam_role")) {
    const name = pool.resolve(stack, String(config.name));
    trust.set(name, parse(stack, config.assume_role_policy));
    roleArn.set(name, `arn:aws:iam::${ACCOUNT}:role/${name}`);
    identity.set(name, identity.get(name) ?? []);
  }
  for (const { stack, config } of pool.resourcesOf("aws_iam_role_policy")) {
    add(pool.resolve(stack, String(config.role)), { name: String(config.name), policy: parse(stack, config.policy) });
  }
  for (const { stack, config } of pool.resourcesOf("aws_iam_role_policy_attachment")) {
    const arn = pool.resolve(stack, String(config.policy_arn));
    add(pool.resolve(stack, String(config.role)), { name: arn, policy: managedPolicy(arn) });
  }
  const resource = new Map<string, PolicyDocument>();
  for (const { stack, config } of pool.resourcesOf("aws_secretsmanager_secret_policy")) {
    resource.set(pool.resolve(stack, String(config.secret_arn)), parse(stack, config.policy));
  }
  for (const { stack, name, config } of pool.resourcesOf("aws_kms_key")) {
    resource.set(pool.resolve(stack, `\${aws_kms_key.${name}.arn}`), parse(stack, config.policy));
  }
  const endpoint = new Map<string, { service: string; policy: PolicyDocument }>();
  for (const { stack, name, config } of pool.resourcesOf("aws_vpc_endpoint")) {
    endpoint.set(pool.resolve(stack, `\${aws_vpc_endpoint.${name}.id}`), { service: String(config.service_name).split(".").pop()!, policy: parse(stack, config.policy) });
  }
  return { identity, trust, resource, endpoint, roleArn };
}
