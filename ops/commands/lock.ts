/**
 * `pool-ops lock status`: who holds the pool-wide lease (ops/lease/) — the command, its operator's user, machine and
 * process, since when and until when — or "free" — and the change a killed command left unfinished (the journal beside
 * the lease), if any. Read-only.
 * `pool-ops lock break`: removes the lease of a command that died holding it (its machine gone), after a confirmation
 * (or `--yes`) and with an audit line. Breaking the lease of a command that still runs lets a second operator change
 * the pool beside it: that command learns it at its next step (its renewal finds another lease) and stops there.
 */
import { Command } from "commander";
import { EXIT_OK, opsAction, type OpsContext } from "../context";
import { breakLease } from "../lease/break";
import { LeaseTable } from "../lease/lease-table";
import { describeJournalEntry, LeaseTableJournal, type JournalEntry } from "../lease/pool-journal";
import { rolloutJournalOf, ROLLOUT_JOURNAL_COMMAND } from "../rollout/rollout-journal";
import { describeState, readLease, stateAt, stateFacts } from "../lease/read";
import { GroupResult, OpsError } from "../remote/result";

function leaseTable(ctx: OpsContext): LeaseTable {
  return new LeaseTable(ctx.awsTarget, ctx.config.name);
}

export async function lockStatus(ctx: OpsContext): Promise<number> {
  const table = leaseTable(ctx);
  try {
    const state = stateAt(await readLease(table), Date.now());
    const journal = await new LeaseTableJournal(table).read();
    if (ctx.out.json) ctx.out.data({ pool: ctx.config.name, table: table.name, ...stateFacts(state, Date.now()), unfinished: journal ?? null });
    else {
      ctx.out.info(`the pool's lease (${table.name}): ${describeState(state, Date.now())}`);
      ctx.out.info(journal ? `unfinished change: ${describeJournalEntry(journal)} — ${whoFinishes(journal)}` : "no unfinished change");
    }
    return EXIT_OK;
  } finally {
    table.close();
  }
}

export async function lockBreak(ctx: OpsContext): Promise<number> {
  const table = leaseTable(ctx);
  try {
    const shown = stateAt(await readLease(table), Date.now());
    if (shown.state === "free") {
      if (ctx.out.json) ctx.out.data({ pool: ctx.config.name, table: table.name, broken: false, state: "free" });
      else ctx.out.info(`the pool's lease (${table.name}) is free: nothing to break`);
      return EXIT_OK;
    }
    const what = describeState(shown, Date.now());
    if (ctx.dryRun) {
      if (ctx.out.json) ctx.out.data({ dryRun: true, pool: ctx.config.name, table: table.name, ...stateFacts(shown, Date.now()) });
      else ctx.out.info(`dry run: would break the pool's lease, ${what}; nothing changed`);
      return EXIT_OK;
    }
    if (!ctx.out.json) ctx.out.info(`the pool's lease (${table.name}): ${what}`);
    await ctx.confirm(
      shown.state === "held"
        ? "break it? Only if that command is dead: if it still runs, two operators change the pool at once"
        : "remove it?",
    );
    const outcome = await breakLease(table, shown);
    if (outcome === "changed") {
      const now = stateAt(await readLease(table), Date.now());
      throw new OpsError("-", "break the pool's lease", `the lease changed while you were asked (now: ${describeState(now, Date.now())}); nothing was broken`, "look again with pool-ops lock status, and break that one only if its command is dead");
    }
    await ctx.audit(new GroupResult([], ctx.elapsedMs), { lease: "broken", table: table.name, ...stateFacts(shown, Date.now()) }, { pool: ctx.config.name });
    if (ctx.out.json) ctx.out.data({ pool: ctx.config.name, table: table.name, broken: outcome === "broken", ...stateFacts(shown, Date.now()) });
    else ctx.out.info(outcome === "broken" ? "broken: the pool's lease is free" : "the pool's lease was already free");
    return EXIT_OK;
  } finally {
    table.close();
  }
}

export function lockCommand(): Command {
  const lock = new Command("lock").description("the pool-wide lease every changing command takes: who holds it; break a dead command's");
  lock
    .command("status")
    .description("who holds the pool's lease (command, user@host pid, since, expiry), or free; read-only")
    .action(opsAction(async (ctx) => lockStatus(ctx)));
  lock
    .command("break")
    .description("remove the pool's lease of a command that died holding it (asks first unless --yes; audited)")
    .action(opsAction(async (ctx) => lockBreak(ctx)));
  return lock;
}

/** A rollout is resumed only by a rollout (ops/rollout/unfinished-rollout.ts); anything else by the next changing command. */
function whoFinishes(entry: JournalEntry): string {
  let outermost = entry;
  while (outermost.within) outermost = outermost.within;
  if (outermost.command !== ROLLOUT_JOURNAL_COMMAND) return "the next changing command finishes it";
  let resume = "pool-ops rollout";
  try {
    resume = rolloutJournalOf(outermost)?.resume ?? resume;
  } catch {
    // A malformed rollout journal is the rollout's to report; status still shows the entry.
  }
  return `${entry === outermost ? "" : `the next changing command finishes the ${entry.command}; `}${resume} resumes the rollout (other changing commands refuse until then; pool-ops rollout --abandon drops it)`;
}
