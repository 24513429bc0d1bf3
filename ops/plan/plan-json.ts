/**
 * The part of Terraform's JSON plan (`terraform show -json plan.tfplan`, format 1.x; Terraform's
 * `internal/command/jsonplan/plan.go`) that says what will happen to each resource: `resource_changes[]`, each with
 * its address, type, the actions (`no-op`, `create`, `read`, `update`, `delete`, or a replacement as
 * `["delete","create"]` / `["create","delete"]`), the values before and after, and the paths that force a
 * replacement. Everything else in the document is ignored.
 */
import { z } from "zod";

const action = z.enum(["no-op", "create", "read", "update", "delete", "forget"]);

const resourceChange = z.object({
  address: z.string(),
  mode: z.enum(["managed", "data"]),
  type: z.string(),
  change: z.object({
    actions: z.array(action).min(1),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
    /** Attribute paths that force the replacement, e.g. `[["availability_zone"]]`. */
    replace_paths: z.array(z.array(z.union([z.string(), z.number()]))).optional(),
  }),
  /** e.g. `replace_because_cannot_update`, `replace_by_request`. */
  action_reason: z.string().optional(),
});

export const terraformPlanJson = z.object({
  format_version: z.string().regex(/^1\./, "a Terraform JSON plan of format 1.x"),
  terraform_version: z.string().optional(),
  resource_changes: z.array(resourceChange).default([]),
});

export type TerraformPlanJson = z.infer<typeof terraformPlanJson>;
export type ResourceChange = TerraformPlanJson["resource_changes"][number];
export type PlanAction = z.infer<typeof action>;

export class PlanJsonError extends Error {}

/** Parses `terraform show -json` output, saying what is wrong with it instead of guessing. */
export function parsePlanJson(text: string): TerraformPlanJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PlanJsonError(`terraform show -json did not print JSON: ${(error as Error).message}`);
  }
  const parsed = terraformPlanJson.safeParse(value);
  if (!parsed.success) throw new PlanJsonError(`not a Terraform JSON plan: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** A replacement, whichever order Terraform chose (create_before_destroy or not). */
export function isReplace(actions: readonly PlanAction[]): boolean {
  return actions.includes("delete") && actions.includes("create");
}
