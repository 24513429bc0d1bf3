/**
 * The journal of the change in progress, beside the lease (its own item in the lease's table, key `journal`), so the
 * next changing command sees an interrupted one from any machine — not only from the laptop it ran on. Written before
 * a command's first change and at each step, removed when the command ends with the pool as before or as intended;
 * a command killed (SIGKILL, power loss, a lost link) leaves it, and the next command that takes the lease finishes
 * or undoes that change before its own (ops/lease/recoveries.ts).
 *
 * Public facts only (steps, host names, periods, counters): never a key, never a secret's value. The item has no
 * `expiresAt`, so the table's TTL never removes an unfinished change's record.
 */
import { z } from "zod";
import { holderName, type LeaseHolder } from "./lease-record";
import type { LeaseTable } from "./lease-table";

export interface JournalEntry {
  /** The changing command: `rotate-kes`, `promote` … */
  readonly command: string;
  /** The step it had reached (its checkpoint name). */
  readonly step: string;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly holder: LeaseHolder;
  /** The command's own facts for finishing or undoing it (public only). */
  readonly facts: Record<string, unknown>;
  /**
   * The change this one runs as a step of (a rollout's promotion or topology push): put back as the journal when this
   * one ends, and finished after it when this one was interrupted.
   */
  readonly within?: JournalEntry;
}

const entrySchema: z.ZodType<JournalEntry> = z.lazy(() =>
  z.object({
    command: z.string().min(1),
    step: z.string(),
    startedAt: z.string(),
    holder: z.object({ user: z.string(), host: z.string(), pid: z.number().int() }),
    facts: z.record(z.string(), z.unknown()),
    within: entrySchema.optional(),
  }),
);

/** Parses a stored entry (another machine's pool-ops, or a hand edit, wrote it). */
export function parseJournalEntry(text: string, where: string): JournalEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${where}: the journal entry is not JSON`);
  }
  const parsed = entrySchema.safeParse(value);
  if (!parsed.success) throw new Error(`${where}: the journal entry is malformed (${parsed.error.issues.map((i) => `${i.path.join(".") || "entry"}: ${i.message}`).join("; ")})`);
  return parsed.data;
}

/** `rotate-kes by alice@laptop pid 4242, started 2026-12-02T03:00:00Z, stopped at push-producer-2`. */
export function describeJournalEntry(entry: JournalEntry): string {
  const own = `${entry.command} by ${holderName(entry.holder)}, started ${entry.startedAt}, stopped at step ${entry.step || "(before its first step)"}`;
  return entry.within ? `${own}, as a step of ${describeJournalEntry(entry.within)}` : own;
}

/** What a command holding the lease writes its journal through. */
export interface PoolJournal {
  read(): Promise<JournalEntry | undefined>;
  write(entry: JournalEntry): Promise<void>;
  clear(): Promise<void>;
}

export class LeaseTableJournal implements PoolJournal {
  constructor(private readonly table: LeaseTable) {}

  async read(): Promise<JournalEntry | undefined> {
    const text = await this.table.readJournal();
    return text === undefined ? undefined : parseJournalEntry(text, `journal in ${this.table.name}`);
  }

  write(entry: JournalEntry): Promise<void> {
    return this.table.writeJournal(JSON.stringify(entry));
  }

  clear(): Promise<void> {
    return this.table.deleteJournal();
  }
}

/**
 * The journal a command run as a step of another (the rollout's promote and push-config) writes through: its entries
 * carry the outer change (`within`), and closing it puts the outer change's entry back rather than removing the item,
 * so the outer change stays recorded whatever the inner one does.
 */
export class StepJournal implements PoolJournal {
  constructor(
    private readonly journal: PoolJournal,
    private readonly outer: () => JournalEntry,
  ) {}

  read(): Promise<JournalEntry | undefined> {
    return this.journal.read();
  }

  write(entry: JournalEntry): Promise<void> {
    return this.journal.write({ ...entry, within: this.outer() });
  }

  clear(): Promise<void> {
    return this.journal.write(this.outer());
  }
}
