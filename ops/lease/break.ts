/**
 * Breaking the pool's lease (`lock break`): for a command that died holding it (its machine gone), so the pool need not
 * wait for the lease to expire. Only the lease the operator was shown is removed: the delete is conditional on its
 * token, so a lease taken in the meantime by someone else stays.
 */
import type { LeaseState } from "./read";
import type { LeaseTable } from "./lease-table";

export type BreakOutcome = "broken" | "changed" | "free";

export async function breakLease(table: LeaseTable, shown: LeaseState): Promise<BreakOutcome> {
  switch (shown.state) {
    case "free":
      return "free";
    case "malformed":
      // No token to match: whatever is there goes.
      await table.deleteAny();
      return "broken";
    default:
      return (await table.deleteIfHeldBy(shown.record.token)) ? "broken" : "changed";
  }
}
