/**
 * A rollout's journal: which steps there are and which are done, for which target, so an interrupted or failed
 * rollout resumes where it stopped — from any machine. It is the pool's journal beside the lease (ops/lease/
 * pool-journal.ts, command `rollout`), not a file on the laptop that ran it: a second operator's machine sees it, and
 * every other changing command refuses to change a pool that is mid-rollout (ops/commands/rollout.ts registers that).
 * Public facts only (host names, AMI ids, a digest of the synthesised nodes stack).
 *
 * pool-ops before this kept the journal in the state directory (`rollout-<pool>.json`); such a file is still read, and
 * moved beside the lease at the rollout's first write.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { stateDir } from "../context";
import { thisProcess } from "../lease/lease-record";
import type { JournalEntry, PoolJournal } from "../lease/pool-journal";
import type { RolloutStep } from "./rollout-plan";

/** The pool journal's command for every rollout (`rollout`, `rollout --image`, `image rollout`). */
export const ROLLOUT_JOURNAL_COMMAND = "rollout";

export interface RolloutJournal {
  readonly pool: string;
  /** The AMIs an image rollout puts on the nodes; absent for a rollout of the plan alone. */
  readonly images?: Record<"relay" | "producer", string>;
  /** sha256 of the synthesised nodes stack the steps were planned from. */
  readonly stackDigest?: string;
  readonly leaderAtStart: string;
  readonly promoteBack: boolean;
  readonly startedAt: string;
  /** The steps as planned at the start (a resumed rollout walks these, not a new plan's). */
  readonly steps?: RolloutStep[];
  done: string[];
  /** The command that resumes it, as an operator types it (`pool-ops image rollout`, `pool-ops rollout --image …`). */
  readonly resume?: string;
}

const stepSchema = z.union([
  z.object({ id: z.string(), kind: z.literal("node"), host: z.string(), role: z.enum(["relay", "producer"]), effect: z.enum(["online", "stop", "replace", "create", "destroy"]) }),
  z.object({ id: z.string(), kind: z.literal("promote"), to: z.string() }),
  z.object({ id: z.string(), kind: z.literal("topology"), joining: z.array(z.string()), leaving: z.array(z.string()) }),
  z.object({ id: z.string(), kind: z.literal("settle") }),
]);

const journalSchema = z.object({
  pool: z.string().min(1),
  images: z.object({ relay: z.string(), producer: z.string() }).optional(),
  stackDigest: z.string().optional(),
  leaderAtStart: z.string().min(1),
  promoteBack: z.boolean(),
  startedAt: z.string(),
  steps: z.array(stepSchema).optional(),
  done: z.array(z.string()),
  resume: z.string().optional(),
});

/** Where pool-ops before the journal beside the lease kept it. */
export function legacyJournalPath(pool: string): string {
  return join(stateDir(), `rollout-${pool}.json`);
}

export function parseRolloutJournal(value: unknown, where: string): RolloutJournal {
  const parsed = journalSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${where}: the rollout's journal is malformed (${parsed.error.issues.map((i) => `${i.path.join(".") || "journal"}: ${i.message}`).join("; ")})`);
  return parsed.data;
}

/** The rollout's journal inside a pool-journal entry, or undefined when the entry is another command's. */
export function rolloutJournalOf(entry: JournalEntry | undefined): RolloutJournal | undefined {
  if (!entry || entry.command !== ROLLOUT_JOURNAL_COMMAND) return undefined;
  return parseRolloutJournal(entry.facts.rollout, "the journal beside the pool's lease");
}

/** The step a journal stopped at: the first one not done. */
export function nextStep(journal: RolloutJournal): string {
  return journal.steps?.find((s) => !journal.done.includes(s.id))?.id ?? "end";
}

/** `3 of 7 steps done, stopped at replace:relay-2`. */
export function describeProgress(journal: RolloutJournal): string {
  const total = journal.steps?.length;
  return `${journal.done.length}${total === undefined ? "" : ` of ${total}`} steps done, stopped at ${nextStep(journal)}`;
}

export function rolloutEntry(journal: RolloutJournal): JournalEntry {
  return { command: ROLLOUT_JOURNAL_COMMAND, step: nextStep(journal), startedAt: journal.startedAt, holder: thisProcess(), facts: { rollout: journal } };
}

/** A rollout's journal, read and written beside the pool's lease. */
export class RolloutJournalStore {
  private legacyFile: string | undefined;

  private constructor(private readonly store: PoolJournal | undefined) {}

  /**
   * `store`: the pool journal (the lease's while the rollout holds it; read-only for a dry run). A journal of another
   * pool-ops command there is not a rollout's: the lease's recovery has dealt with it before a rollout runs.
   */
  static async open(store: PoolJournal | undefined, pool: string): Promise<{ store: RolloutJournalStore; journal?: RolloutJournal; adopted?: string }> {
    const self = new RolloutJournalStore(store);
    const beside = rolloutJournalOf(await store?.read());
    if (beside) return { store: self, journal: beside };
    const file = legacyJournalPath(pool);
    if (!existsSync(file)) return { store: self };
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      throw new Error(`${file}: the rollout's journal is not JSON`);
    }
    self.legacyFile = file;
    return { store: self, journal: parseRolloutJournal(value, file), adopted: file };
  }

  /** Written beside the lease; a journal adopted from the state directory leaves it at this first write. */
  async save(journal: RolloutJournal): Promise<void> {
    if (!this.store) throw new Error("a rollout's journal is written only while the rollout holds the pool's lease");
    await this.store.write(rolloutEntry(journal));
    this.dropLegacy();
  }

  async drop(): Promise<void> {
    await this.store?.clear();
    this.dropLegacy();
  }

  /** What an operator reads where the journal is. */
  get where(): string {
    return this.legacyFile ?? `beside the pool's lease (pool-ops lock status shows it)`;
  }

  private dropLegacy(): void {
    if (this.legacyFile) rmSync(this.legacyFile, { force: true });
    this.legacyFile = undefined;
  }
}

/** Whether a journal was written for the same target: the same images, or the same synthesised stack. */
export function sameTarget(journal: RolloutJournal, images: RolloutJournal["images"], stackDigest: string): boolean {
  if (journal.images || images) return journal.images?.relay === images?.relay && journal.images?.producer === images?.producer;
  return journal.stackDigest === stackDigest;
}
