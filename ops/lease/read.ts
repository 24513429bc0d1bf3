/** Reading the pool's lease for an operator (`lock status`): free, held, or expired and so free for the next taker. */
import { describeLease, leaseFacts } from "./describe-lease";
import { LeaseItemError, epochSeconds, isExpired, type LeaseRecord } from "./lease-record";
import type { LeaseTable } from "./lease-table";

export type LeaseState =
  | { readonly state: "free" }
  | { readonly state: "held" | "expired"; readonly record: LeaseRecord }
  | { readonly state: "malformed"; readonly problem: string };

export async function readLease(table: LeaseTable): Promise<LeaseState> {
  try {
    const record = await table.read();
    return record ? { state: "held", record } : { state: "free" };
  } catch (error) {
    if (error instanceof LeaseItemError) return { state: "malformed", problem: error.message };
    throw error;
  }
}

/** The state at `nowMs`: a lease past its expiry is reported as expired (anyone's to take). */
export function stateAt(state: LeaseState, nowMs: number): LeaseState {
  if (state.state === "held" && isExpired(state.record, epochSeconds(nowMs))) return { state: "expired", record: state.record };
  return state;
}

/** One line for a terminal. */
export function describeState(state: LeaseState, nowMs: number): string {
  switch (state.state) {
    case "free":
      return "free";
    case "held":
      return describeLease(state.record, nowMs);
    case "expired":
      return `free (the last lease, ${describeLease(state.record, nowMs)})`;
    case "malformed":
      return `unusable: ${state.problem}`;
  }
}

/** As data (`--json`): never the token. */
export function stateFacts(state: LeaseState, nowMs: number) {
  switch (state.state) {
    case "free":
      return { state: state.state };
    case "malformed":
      return { state: state.state, problem: state.problem };
    default:
      return { state: state.state, ...leaseFacts(state.record, nowMs) };
  }
}
