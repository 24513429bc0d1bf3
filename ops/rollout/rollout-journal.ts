/**
 * A rollout's journal in the state directory (POOL_OPS_STATE_DIR): which steps there are and which are done, for
 * which target, so an interrupted or failed rollout resumes where it stopped. Public facts only (host names, AMI ids,
 * a digest of the synthesised nodes stack).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stateDir } from "../context";
import type { RolloutStep } from "./rollout-plan";

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
}

export function journalPath(pool: string): string {
  return join(stateDir(), `rollout-${pool}.json`);
}

export function saveJournal(journal: RolloutJournal): void {
  mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
  writeFileSync(journalPath(journal.pool), `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
}

export function loadJournal(pool: string): RolloutJournal | undefined {
  const file = journalPath(pool);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as RolloutJournal) : undefined;
}

export function dropJournal(pool: string): void {
  rmSync(journalPath(pool), { force: true });
}

/** Whether a journal was written for the same target: the same images, or the same synthesised stack. */
export function sameTarget(journal: RolloutJournal, images: RolloutJournal["images"], stackDigest: string): boolean {
  if (journal.images || images) return journal.images?.relay === images?.relay && journal.images?.producer === images?.producer;
  return journal.stackDigest === stackDigest;
}
