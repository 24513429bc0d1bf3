import { StepJournal, type JournalEntry, type PoolJournal } from "./pool-journal";

/**
 * What a command holding the pool's lease sees of it: `assertHeld()` before each irreversible step (StepControl's
 * checkpoints call it), and a signal that aborts once the lease is lost for good.
 */
export interface LeaseGuard {
  /** Throws LeaseLost when the lease is not, or no longer surely, this command's. */
  assertHeld(): void;
  /** Aborted when the lease was taken over, broken or released. */
  readonly signal: AbortSignal;
  /** The journal beside the lease; none without a lease (dry runs and read-only commands change nothing). */
  readonly journal?: PoolJournal;
}

/** For what runs without the lease: dry runs and read-only commands. */
export const NO_LEASE: LeaseGuard = { assertHeld: () => undefined, signal: new AbortController().signal };

/**
 * The lease as a command run as a step of another sees it (the rollout's promotions and topology pushes): the same
 * lease, its journal entries nested in the outer change's, so the outer change stays recorded around them.
 */
export function leaseForStep(lease: LeaseGuard, outer: () => JournalEntry): LeaseGuard {
  if (!lease.journal) return lease;
  return { assertHeld: () => lease.assertHeld(), signal: lease.signal, journal: new StepJournal(lease.journal, outer) };
}
