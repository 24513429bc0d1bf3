/**
 * Finishing a promotion that was interrupted (SIGKILL, power loss, a lost link) between fencing the old leader and
 * recording the new one. The journal beside the lease names the two producers; what is done comes from the pool's
 * state, read now:
 * - the new leader forges and the old one does not: only the SSM record may be behind, and it is written;
 * - otherwise the promotion is completed as it was asked — the old leader fenced (again: fencing is idempotent, and a
 *   half-fenced node, its standby environment written and its node not yet restarted, is fenced for certain only by a
 *   restart), the new one promoted and confirmed forging, then recorded.
 * Never undone: the operator asked for the promotion, and undoing it would need the very fence it was doing.
 */
import { LeaderParameter } from "../aws/leader-parameter";
import type { OpsContext } from "../context";
import { EXIT_OK } from "../context";
import type { LeaseGuard } from "../lease/lease-guard";
import type { JournalEntry } from "../lease/pool-journal";
import { fenceLeader, fenceOverSsh, forgingState, promoteOverSsh } from "../pool/producer-role";
import { StepControl } from "../pool/step-control";
import { OpsError } from "../remote/result";

/** The journal's facts for a promotion: from whom, to whom. */
export interface PromotionFacts {
  readonly from: string;
  readonly to: string;
}

export function promotionFacts(entry: JournalEntry, producers: readonly string[]): PromotionFacts {
  const { from, to } = entry.facts as { from?: unknown; to?: unknown };
  if (typeof from !== "string" || typeof to !== "string" || from === to || !producers.includes(from) || !producers.includes(to)) {
    throw new OpsError("-", "recover", `the interrupted promotion's journal names ${JSON.stringify(from)} → ${JSON.stringify(to)}, not the inventory's producers ${producers.join(", ")}`, "check the pool with pool-ops leader; pool-ops lock status shows the journal");
  }
  return { from, to };
}

export async function finishPromotion(ctx: OpsContext, entry: JournalEntry, lease: LeaseGuard): Promise<number> {
  const config = ctx.config;
  const inventory = await ctx.inventory();
  const producers = inventory.hosts.filter((h) => h.role === "producer");
  const { from, to } = promotionFacts(entry, producers.map((p) => p.name));
  if (!inventory.parameters.leader) throw new OpsError("-", "recover", "the inventory names no leader parameter", "use the nodes stack's inventory output");
  const fleet = await ctx.fleet();
  const fromC = fleet.connection(from);
  const toC = fleet.connection(to);
  const timeoutMs = config.pushConfig.healthTimeoutSeconds * 1000;
  const parameter = new LeaderParameter(ctx.awsTarget, inventory.parameters.leader, producers.map((p) => p.name));
  try {
    const [fromForging, toForging] = await Promise.all([forgingState(config, fromC).catch(() => undefined), forgingState(config, toC).catch(() => undefined)]);
    if (toForging === 1 && fromForging !== 1) {
      if ((await parameter.read()) !== to) await parameter.write(to);
      ctx.out.info(`the interrupted promotion had done its work: ${to} forges, ${from} does not; the leader record names ${to}`);
      return EXIT_OK;
    }
    ctx.out.info(`completing the interrupted promotion: fence ${from} (now ${fromForging === undefined ? "not answering" : fromForging === 1 ? "forging" : "not forging"}), then promote ${to} (now ${toForging === 1 ? "forging" : toForging === undefined ? "not answering" : "not forging"})`);
    await ctx.confirm(`finish the interrupted promotion: make ${to} the block producer (${from} is fenced first)?`);
    const control = new StepControl(lease).install();
    try {
      await control.checkpoint("fence");
      const fenced = await fenceLeader(config, ctx.awsTarget, fromC, producers.find((p) => p.name === from)!.instanceId, timeoutMs, (text) => ctx.out.warn(text));
      if (fenced.fencedBy === "unfenced") throw new OpsError(from, "fence", `${from} could not be fenced (${fenced.detail}); ${to} is not promoted`, "restore SSH or AWS access and run any changing command again: it finishes the promotion");
      await control.checkpoint("promote");
      const promoted = await promoteOverSsh(config, toC, timeoutMs).catch((e: Error) => ({ confirmed: false, detail: e.message }));
      if (!promoted.confirmed) {
        const refenced = await fenceOverSsh(config, toC, timeoutMs).then((r) => r.confirmed, () => false);
        throw new OpsError(to, "promote", `${to} did not start forging (${promoted.detail}); ${refenced ? "it is back to standby" : "it is NOT confirmed back to standby: check it now"}; NO producer forges`, "see its node log; run pool-ops promote --back to make the other producer lead, or fix it and run any changing command again");
      }
      await control.checkpoint("record");
      await parameter.write(to);
    } finally {
      control.uninstall();
    }
    ctx.out.info(`the interrupted promotion is complete: ${to} forges and is recorded as the leader; ${from} is fenced`);
    return EXIT_OK;
  } finally {
    parameter.close();
  }
}
