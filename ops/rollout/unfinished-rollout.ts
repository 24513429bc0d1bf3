/**
 * What happens to a rollout that did not finish (killed, a lost link, a failed health gate): its journal beside the
 * lease holds the pool mid-change. Only a rollout resumes it — it needs Terraform, the synthesised stacks and the
 * deployer's credentials, none of which rotate-kes, promote or push-config use, and running the rest of a node-by-node
 * rollout as a side effect of rotating a key would surprise its operator. So every other changing command refuses,
 * naming the rollout and the two ways on: resume it, or (once the pool is checked) abandon its journal.
 */
import { EXIT_OK, type OpsContext } from "../context";
import { holderName } from "../lease/lease-record";
import type { JournalEntry } from "../lease/pool-journal";
import { GroupResult, OpsError } from "../remote/result";
import { describeProgress, rolloutJournalOf, type RolloutJournal, type RolloutJournalStore } from "./rollout-journal";

/** The command line that resumes a rollout, as its operator typed it (its options that choose the target). */
export function resumeCommand(imageRollout: boolean, options: { readonly image?: string; readonly stacks?: string; readonly promoteBack?: boolean }): string {
  const words = ["pool-ops", ...(imageRollout ? ["image", "rollout"] : ["rollout"])];
  if (options.image) words.push("--image", options.image);
  if (options.stacks) words.push("--stacks", options.stacks);
  return words.join(" ");
}

/** The recovery other changing commands run for an unfinished rollout: a refusal that changes nothing. */
export async function refuseUnfinishedRollout(_ctx: OpsContext, entry: JournalEntry): Promise<number> {
  const journal = rolloutJournalOf(entry);
  const progress = journal ? describeProgress(journal) : `stopped at ${entry.step}`;
  throw new OpsError(
    "-",
    "recover",
    `the pool is mid-rollout (${entry.command} by ${holderName(entry.holder)}, started ${entry.startedAt}, ${progress}): only a rollout resumes it, with Terraform, the synthesised stacks and deployer credentials; nothing was changed`,
    `resume it: ${journal?.resume ?? "pool-ops rollout"} (from the project directory, with deployer credentials); or, once the pool is checked (pool-ops status, npm run plan), drop its journal: pool-ops rollout --abandon. Then run this command again`,
  );
}

/** `rollout --abandon`: the journal dropped (asked first, audited), nothing else changed. */
export async function abandonRollout(ctx: OpsContext, store: RolloutJournalStore, journal: RolloutJournal | undefined): Promise<number> {
  if (!journal) {
    if (ctx.out.json) ctx.out.data({ abandoned: false, unfinished: null });
    else ctx.out.info("no unfinished rollout is journalled: nothing to abandon");
    return EXIT_OK;
  }
  const what = `the unfinished rollout started ${journal.startedAt} (${describeProgress(journal)}${journal.done.length > 0 ? `: ${journal.done.join(", ")}` : ""})`;
  if (ctx.dryRun) {
    if (ctx.out.json) ctx.out.data({ dryRun: true, abandoned: false, unfinished: journal });
    else ctx.out.info(`dry run: would drop the journal of ${what}; nothing changed`);
    return EXIT_OK;
  }
  await ctx.confirm(`drop the journal of ${what}? The pool stays as the rollout left it`);
  await store.drop();
  await ctx.audit(new GroupResult([], ctx.elapsedMs), { rollout: "abandoned", startedAt: journal.startedAt, done: journal.done, steps: journal.steps?.map((s) => s.id) ?? [] }, { pool: ctx.config.name });
  if (ctx.out.json) ctx.out.data({ abandoned: true, unfinished: journal });
  else ctx.out.info(`dropped the journal of ${what}; the pool stays as it left it: npm run plan shows what remains, and pool-ops rollout applies it afresh`);
  return EXIT_OK;
}
