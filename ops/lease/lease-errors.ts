/**
 * The lease's expected failures, as OpsErrors (host "-": the pool as a whole), so every command prints them as it
 * prints its own — the step, what happened, the remedy — and rolls back from a lost lease as from any failed step.
 */
import { OpsError } from "../remote/result";
import type { LeaseRecord } from "./lease-record";

/** Another operator holds the lease: nothing was changed (exit 4, EXIT_LEASE_HELD). */
export class LeaseHeldError extends OpsError {
  override name = "LeaseHeldError";
  constructor(
    message: string,
    remedy: string,
    /** The lease that stood in the way (undefined: malformed, or gone just after the refusal). */
    readonly current: LeaseRecord | undefined,
  ) {
    super("-", "take the pool's lease", message, remedy);
  }
}

/** The command no longer holds the lease (taken over, broken, released, or unrenewed too long): it must stop. */
export class LeaseLost extends OpsError {
  override name = "LeaseLost";
  constructor(message: string) {
    super("-", "hold the pool's lease", message, "nothing more was changed after this step; look at pool-ops lock status, then run the command again");
  }
}

/** The lease table could not be read or written (no table, no credentials, no network). */
export class LeaseTableError extends OpsError {
  override name = "LeaseTableError";
  constructor(message: string) {
    super("-", "the pool's lease", message, "check AWS credentials and region (--aws-endpoint for the emulator) and that the security stack is deployed");
  }
}
