/** The per-host summary of a nodes-stack plan, as `npm run plan` and `pool-ops rollout --dry-run` print it. */
import { EFFECT_WORDS, stoppingNodes, type NodesPlan } from "./node-changes";

/** The command that applies node-stopping changes one node at a time. */
export const ROLLOUT_COMMAND = "npx pool-ops rollout";

export function nodesPlanLines(plan: NodesPlan): string[] {
  const width = Math.max(10, ...plan.hosts.map((h) => h.host.length));
  const lines = plan.hosts.map((h) => `  ${h.host.padEnd(width)}  ${EFFECT_WORDS[h.effect]}${h.reasons.length > 0 ? `: ${h.reasons.join("; ")}` : ""}`);
  if (plan.others.length > 0) lines.push(`  other changes: ${plan.others.map((o) => `${o.address} (${o.actions.join("/")})`).join(", ")}`);
  return lines;
}

/** Why a plain `cdktf deploy` is the wrong way to apply this plan, or undefined when it is fine. */
export function nodeStopWarning(plan: NodesPlan): string | undefined {
  const down = stoppingNodes(plan);
  if (down.length === 0) return undefined;
  return (
    `these changes take nodes down (${down.map((h) => `${h.host}: ${EFFECT_WORDS[h.effect]}`).join(", ")}). ` +
    `Apply them with \`${ROLLOUT_COMMAND}\` (relays one at a time while the others serve, health gates, the standby ` +
    `promoted before the leader stops), not \`cdktf deploy\`, which changes them all at once, the leader included.`
  );
}

/** For the pull-request comment (plan-summary.ts). */
export function nodesPlanMarkdown(plan: NodesPlan): string {
  const rows = plan.hosts.filter((h) => h.effect !== "none").map((h) => `| \`${h.host}\` | ${EFFECT_WORDS[h.effect]} | ${h.reasons.join("; ")} |`);
  const warning = nodeStopWarning(plan);
  return [
    "#### nodes, per host",
    "",
    ...(rows.length === 0 ? ["No host changes."] : ["| host | what happens | why |", "|---|---|---|", ...rows]),
    ...(warning ? ["", `> **Warning:** ${warning}`] : []),
    "",
  ].join("\n");
}
