/**
 * What the next changing command does about an interrupted one: each changing command that journals registers how
 * its own interrupted run is finished or undone (rotate-kes finishes the rotation from the pool's state; promote
 * completes the promotion), and whichever command takes the lease next runs that first, saying which and why.
 *
 * A registry rather than imports: the commands import the lease, so the lease cannot import the commands.
 */
import type { OpsContext } from "../context";
import { OpsError } from "../remote/result";
import { leaseForStep, type LeaseGuard } from "./lease-guard";
import { describeJournalEntry, type JournalEntry } from "./pool-journal";

/** Finishes or undoes `entry`'s change; resolves to the command's exit code (0: the pool is consistent again). */
export type Recovery = (ctx: OpsContext, entry: JournalEntry, lease: LeaseGuard) => Promise<number>;

interface Registered {
  readonly recover: Recovery;
  /**
   * The command's own next run finishes its interrupted one (rotate-kes: its preflight reads the pool's state), so
   * when that command is the one run next, it is left to do so. Otherwise (promote) the recovery runs first, and a
   * command of the same name then stops: run again, it would go one change further than its operator asked.
   */
  readonly ownRunFinishes: boolean;
  /** Other commands that are "its own run" (`image rollout` resumes a `rollout`'s journal). @default none */
  readonly finishedBy?: readonly string[];
}

const recoveries = new Map<string, Registered>();

export function registerRecovery(command: string, recover: Recovery, options: Omit<Registered, "recover">): void {
  recoveries.set(command, { recover, ...options });
}

/** The registered recovery of `command`'s interrupted runs (what a test calls to see it). */
export function getRecovery(command: string): Recovery | undefined {
  return recoveries.get(command)?.recover;
}

/** What the caller does next: go on with its command, or stop (the interrupted run of that same command is done). */
export type AfterRecovery = "go-on" | "stop";

function sameCommand(entryCommand: string, command: string): boolean {
  return command === entryCommand || command.startsWith(`${entryCommand} `);
}

/** Called with the lease held, before `command` changes anything. */
export async function recoverUnfinished(ctx: OpsContext, command: string, lease: LeaseGuard): Promise<AfterRecovery> {
  const found = await lease.journal?.read();
  if (!found) return "go-on";
  let entry: JournalEntry = found;
  ctx.out.warn(`pool-ops: an unfinished change is recorded beside the lease: ${describeJournalEntry(entry)}`);
  // A step of an outer change (a rollout's promotion) is finished first, under the outer change's journal, which is
  // then put back: what remains is the outer change, decided on below like any other.
  while (entry.within) {
    const outer: JournalEntry = entry.within;
    ctx.out.warn(`pool-ops: finishing the interrupted ${entry.command} (a step of ${outer.command}) first`);
    const code = await registeredFor(entry, command).recover(ctx, entry, leaseForStep(lease, () => outer));
    if (code !== 0) {
      throw new OpsError("-", "recover", `the interrupted ${entry.command} (a step of ${outer.command}) could not be finished (exit ${code}); ${command} changed nothing more`, `see the messages above; run pool-ops ${outer.command} to resume it`);
    }
    await lease.journal?.write(outer);
    entry = outer;
  }
  const registered = registeredFor(entry, command);
  const same = [entry.command, ...(registered.finishedBy ?? [])].some((own) => sameCommand(own, command));
  if (same && registered.ownRunFinishes) {
    ctx.out.warn(`pool-ops: this ${command} finishes it first (it reads the pool's state, not the journal's guess)`);
    return "go-on";
  }
  ctx.out.warn(`pool-ops: finishing the interrupted ${entry.command} before anything else`);
  const code = await registered.recover(ctx, entry, lease);
  if (code !== 0) {
    throw new OpsError("-", "recover", `the interrupted ${entry.command} could not be finished (exit ${code}); ${command} changed nothing more`, `see the messages above; run pool-ops ${entry.command} to finish it`);
  }
  await lease.journal?.clear();
  if (same) {
    ctx.out.warn(`pool-ops: the interrupted ${entry.command} is finished, as it was asked; run ${command} again to change the pool further`);
    return "stop";
  }
  ctx.out.warn(`pool-ops: the interrupted ${entry.command} is finished; going on with ${command}`);
  return "go-on";
}

function registeredFor(entry: JournalEntry, command: string): Registered {
  const registered = recoveries.get(entry.command);
  if (!registered) {
    throw new OpsError("-", "recover", `no pool-ops command here knows how to finish an interrupted ${entry.command}`, `run pool-ops ${entry.command} to finish it (a newer pool-ops may have written it), then ${command}`);
  }
  return registered;
}
