import { describe, expect, test } from "vitest";
import { planSummary } from "./plan-summary";

describe("plan summary", () => {
  test("one line per stack with Terraform's verdict, plans folded, failures flagged", () => {
    const md = planSummary([
      { name: "network", ok: true, output: "…\nNo changes. Your infrastructure matches the configuration.\n" },
      { name: "nodes", ok: true, output: "  + resource\nPlan: 3 to add, 1 to change, 0 to destroy.\n" },
      { name: "monitoring", ok: false, output: "Error: nope" },
    ]);
    expect(md).toContain("- `network`: No changes. Your infrastructure matches the configuration.");
    expect(md).toContain("- `nodes`: Plan: 3 to add, 1 to change, 0 to destroy.");
    expect(md).toContain("- `monitoring`: **plan failed**");
    expect(md).toContain("<details><summary>nodes</summary>");
  });

  test("stays under GitHub's comment limit and cannot break out of its code block", () => {
    const md = planSummary([{ name: "big", ok: true, output: `\`\`\`\n${"x".repeat(200_000)}` }]);
    expect(md.length).toBeLessThan(65_536);
    expect(md).toContain("(cut; the full plan is in the job log)");
    expect(md.match(/```/g)).toHaveLength(2);
  });
});
