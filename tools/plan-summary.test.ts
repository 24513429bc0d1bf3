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

  test("the nodes stack's hosts: what happens to each, and the rollout command when nodes would go down", () => {
    const md = planSummary([
      {
        name: "nodes",
        ok: true,
        output: "Plan: 0 to add, 2 to change, 0 to destroy.\n",
        nodes: {
          hosts: [
            { host: "relay-1", role: "relay", effect: "none", reasons: [], addresses: [], grows: [] },
            { host: "producer-1", role: "producer", effect: "stop", reasons: ["instance type m6i.large → m6i.xlarge (stopped, changed, started)"], addresses: ["aws_instance.x"], grows: [] },
          ],
          others: [],
        },
      },
    ]);
    expect(md).toContain("| `producer-1` | in place, with a stop | instance type m6i.large → m6i.xlarge (stopped, changed, started) |");
    expect(md).not.toContain("`relay-1` |");
    expect(md).toMatch(/\*\*Warning:\*\* these changes take nodes down \(producer-1: in place, with a stop\)\. Apply them with `npx pool-ops rollout`/);
  });
});
