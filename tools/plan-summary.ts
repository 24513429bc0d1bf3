/** The Markdown summary of a multi-stack `terraform plan` that CI posts on a pull request. */
import { nodesPlanMarkdown } from "../ops/plan/node-changes-report";
import type { NodesPlan } from "../ops/plan/node-changes";

export interface PlannedStack {
  readonly name: string;
  readonly ok: boolean;
  readonly output: string;
  /** The nodes stack's plan per host (ops/plan/node-changes.ts), when this is the nodes stack and it planned. */
  readonly nodes?: NodesPlan;
}

/** GitHub comments are limited to 65,536 characters: each stack's plan text is cut to its share. */
const COMMENT_BUDGET = 60_000;

/** Markdown for a pull-request comment: one line per stack with Terraform's own summary, the plan text folded. */
export function planSummary(stacks: readonly PlannedStack[]): string {
  const share = Math.floor(COMMENT_BUDGET / Math.max(stacks.length, 1)) - 200;
  const parts = ["### terraform plan", ""];
  for (const stack of stacks) {
    const verdict = stack.ok
      ? (/^(Plan: .*|No changes\..*)$/m.exec(stack.output)?.[1] ?? "planned")
      : "**plan failed**";
    parts.push(`- \`${stack.name}\`: ${verdict}`);
  }
  for (const stack of stacks) if (stack.nodes) parts.push("", nodesPlanMarkdown(stack.nodes).trimEnd());
  for (const stack of stacks) {
    const text = stack.output.length > share ? `${stack.output.slice(0, share)}\n… (cut; the full plan is in the job log)` : stack.output;
    parts.push("", `<details><summary>${stack.name}</summary>`, "", "```", text.replace(/```/g, "'''"), "```", "", "</details>");
  }
  return `${parts.join("\n")}\n`;
}
