/** `--wait <seconds>`, the same on every command that takes the pool's lease. */
import { InvalidArgumentError, Option } from "commander";

/** The options of a command that takes the pool's lease. */
export interface LeaseOptions {
  /** Seconds to wait for a lease another operator holds (commander: `--wait`). @default refuse at once */
  readonly wait?: number;
}

function seconds(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a number of seconds");
  return Number(value);
}

export function leaseWaitOption(): Option {
  return new Option("--wait <seconds>", "when another operator holds the pool's lease, wait up to this many seconds for it (default: refuse at once)").argParser(seconds);
}
