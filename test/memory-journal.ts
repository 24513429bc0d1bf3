/** The pool journal beside the lease, in memory: what the journal's unit tests read and write instead of DynamoDB. */
import type { JournalEntry, PoolJournal } from "../ops/lease/pool-journal";

export class MemoryJournal implements PoolJournal {
  entry: JournalEntry | undefined;

  async read(): Promise<JournalEntry | undefined> {
    return this.entry;
  }

  /** Stored as DynamoDB would: a copy, so later changes to the caller's object do not show. */
  async write(entry: JournalEntry): Promise<void> {
    this.entry = JSON.parse(JSON.stringify(entry)) as JournalEntry;
  }

  async clear(): Promise<void> {
    this.entry = undefined;
  }
}
