/**
 * A synth-time policy rule (after cdk-nag): an id, the threat it blocks, the equivalent ids of common scanners, and a
 * pure check over one synthesised resource. A rule that throws counts as non-compliant.
 */
import type { PoolConfig } from "../../config/schema";

/** One resource (or data source) as it appears in the synthesised Terraform JSON. */
export interface PolicyResource {
  readonly stack: string;
  readonly type: string;
  /** The Terraform resource name (cdktf's friendly unique id). */
  readonly name: string;
  /** The construct path, as cdktf records it: `network/vpc/vpc`. */
  readonly path: string;
  readonly config: Readonly<Record<string, unknown>>;
}

export interface PolicyContext {
  readonly config: PoolConfig;
  readonly resources: readonly PolicyResource[];
  /** The resource a reference such as `${aws_vpc.vpc_1A2B.id}` points at, following cross-stack outputs. */
  referenced(from: PolicyResource, value: unknown): PolicyResource | undefined;
  /** Resources of `type` in the whole app whose `attribute` refers to `target`. */
  referencing(target: PolicyResource, type: string, attribute: string): PolicyResource[];
}

export type RuleOutcome =
  | { readonly status: "compliant" }
  | { readonly status: "not-applicable" }
  | { readonly status: "non-compliant"; readonly reason: string };

export const COMPLIANT: RuleOutcome = { status: "compliant" };
export const NOT_APPLICABLE: RuleOutcome = { status: "not-applicable" };
export const violation = (reason: string): RuleOutcome => ({ status: "non-compliant", reason });

export interface ScannerEquivalents {
  readonly checkov?: readonly string[];
  readonly trivy?: readonly string[];
  readonly cdkNag?: readonly string[];
}

export interface PolicyRule {
  /** Stable id, named in every failure and in exemptions: `SG-WORLD-INGRESS`. */
  readonly id: string;
  /** The threat the rule blocks, in one sentence. */
  readonly threat: string;
  readonly equivalents: ScannerEquivalents;
  /** Resource types the rule looks at; everything else is not applicable. */
  readonly resourceTypes: readonly string[];
  check(resource: PolicyResource, context: PolicyContext): RuleOutcome;
}

export function stringsOf(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  return [String(value)];
}

export function asRecords(value: unknown): Record<string, unknown>[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null);
}

export function tagOf(resource: PolicyResource | undefined, key: string): string | undefined {
  const tags = resource?.config.tags;
  if (tags && typeof tags === "object" && key in tags) return String((tags as Record<string, unknown>)[key]);
  return undefined;
}

export function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}
