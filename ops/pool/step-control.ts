/**
 * Interruption handling for multi-step changes. Ctrl-C (SIGINT) does not kill the process mid-step: it is recorded,
 * the current atomic step finishes, and the next checkpoint throws `Interrupted`, so the command rolls back from a
 * known state. Fault drills can hold a command at a named checkpoint: with `POOL_OPS_PAUSE_AT=<step>` it stops there,
 * says so on stderr, and continues on SIGUSR2 (used by the tests to cut a link or press Ctrl-C at an exact step).
 * A command holding the pool's lease gives it here: each checkpoint also refuses to go on once the lease is lost
 * (LeaseLost), so the command rolls back as after a failed step.
 */
import { NO_LEASE, type LeaseGuard } from "../lease/lease-guard";

export class Interrupted extends Error {
  override name = "Interrupted";
  constructor(readonly step: string) {
    super(`interrupted (Ctrl-C) before ${step}`);
  }
}

export class StepControl {
  private interrupted = false;

  /** @param lease the pool's lease the command holds; checked at every checkpoint. @default none (dry runs, tests) */
  constructor(private readonly lease: LeaseGuard = NO_LEASE) {}

  private readonly onSigint = () => {
    if (this.interrupted) return;
    this.interrupted = true;
    process.stderr.write("\npool-ops: Ctrl-C: finishing the current step, then rolling back\n");
  };

  // A stray SIGUSR2 (a drill's "continue" sent twice) must not terminate the process mid-change.
  private readonly ignoreUsr2 = () => undefined;

  install(): this {
    process.on("SIGINT", this.onSigint);
    process.on("SIGUSR2", this.ignoreUsr2);
    return this;
  }

  uninstall(): void {
    process.off("SIGINT", this.onSigint);
    process.off("SIGUSR2", this.ignoreUsr2);
  }

  get wasInterrupted(): boolean {
    return this.interrupted;
  }

  /** Between steps: pause if asked to, then stop if Ctrl-C was pressed or the pool's lease is no longer held. */
  async checkpoint(step: string): Promise<void> {
    if (process.env.POOL_OPS_PAUSE_AT === step) {
      process.stderr.write(`pool-ops: paused at ${step} (POOL_OPS_PAUSE_AT; send SIGUSR2 to continue)\n`);
      // A signal listener does not keep Node alive: with no connection open (just closed, say) the process would
      // exit mid-pause, so a timer holds it until the signal comes.
      const hold = setInterval(() => undefined, 60_000);
      await new Promise<void>((resolve) => process.once("SIGUSR2", () => resolve()));
      clearInterval(hold);
    }
    if (this.interrupted) throw new Interrupted(step);
    this.lease.assertHeld();
  }
}
