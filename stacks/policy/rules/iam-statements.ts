/** Shared reading of IAM policies in the synthesised JSON: which role a policy lands on and what it allows. */
import { asRecords, stringsOf, tagOf, type PolicyContext, type PolicyResource } from "../rule";

export interface AllowStatement {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/** IAM action patterns (`secretsmanager:Get*`, `*`) match case-insensitively with `*` and `?` wildcards. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
  return regex.test(action);
}

export function allowStatements(policyJson: unknown): AllowStatement[] {
  if (typeof policyJson !== "string") return [];
  const document = JSON.parse(policyJson) as { Statement?: unknown };
  return asRecords(document.Statement)
    .filter((s) => s.Effect === "Allow")
    .map((s) => ({ actions: stringsOf(s.Action), resources: stringsOf(s.Resource) }));
}

export function isInstanceRole(role: PolicyResource | undefined): boolean {
  const trust = role?.config.assume_role_policy;
  return typeof trust === "string" && trust.includes("ec2.amazonaws.com");
}

/** The role a policy resource is attached to, and the policy documents it brings. */
export function policiesOnRole(resource: PolicyResource, context: PolicyContext): { role: PolicyResource | undefined; documents: unknown[]; managedArns: string[] } {
  const c = resource.config;
  switch (resource.type) {
    case "aws_iam_role":
      return { role: resource, documents: asRecords(c.inline_policy).map((p) => p.policy), managedArns: stringsOf(c.managed_policy_arns) };
    case "aws_iam_role_policy":
      return { role: context.referenced(resource, c.role), documents: [c.policy], managedArns: [] };
    case "aws_iam_role_policy_attachment": {
      const customer = context.referenced(resource, c.policy_arn);
      return {
        role: context.referenced(resource, c.role),
        documents: customer ? [customer.config.policy] : [],
        managedArns: customer ? [] : stringsOf(c.policy_arn),
      };
    }
    default:
      return { role: undefined, documents: [], managedArns: [] };
  }
}

/** True when `resource` (an ARN, a wildcard, or a reference) may designate a cold-key secret. */
export function mayBeColdSecret(resource: string, from: PolicyResource, context: PolicyContext): boolean {
  const target = context.referenced(from, resource);
  if (target) return target.type === "aws_secretsmanager_secret" && tagOf(target, "KeyClass") === "cold";
  if (resource.includes("/cold/")) return true;
  // A wildcard over secrets (or everything) covers the cold secrets too.
  return resource === "*" || (resource.includes("*") && (resource.startsWith("arn:aws:secretsmanager") || resource.startsWith("arn:*")));
}
