/**
 * Which issue counter a new op cert gets. Under Babbage/Conway (Praos) the chain accepts a cert whose counter n has
 * m ≤ n ≤ m + 1, m being the last counter the chain saw for the pool; m moves only when a block made with a newer
 * cert is adopted. So:
 * - m known (an on-chain query answered): n = m + 1 — always accepted, and above anything the chain has seen.
 * - m unknown: the cert on the leader (counter c) is either on chain (m = c) or was issued as m + 1 and never made a
 *   block (m = c − 1). n = c is accepted in both cases; c + 1 only in the first. Re-use c.
 * An explicit `--counter N` must satisfy the same bounds.
 */
import type { PoolConfig } from "../../config/schema";
import type { Connection } from "../remote/connection";
import { OpsError } from "../remote/result";
import { nodeHealth } from "./health";

export interface CounterInputs {
  /** Counter of the cert the leader runs with now. */
  readonly current: number;
  /** Last counter seen on chain, when a query could tell. */
  readonly onChain?: number | undefined;
  /** `--counter N`. */
  readonly requested?: number | undefined;
}

export interface CounterChoice {
  readonly counter: number;
  readonly reason: string;
}

export class CounterRuleError extends Error {
  override name = "CounterRuleError";
}

export function chooseCounter(inputs: CounterInputs): CounterChoice {
  const { current, onChain, requested } = inputs;
  if (onChain !== undefined && (onChain > current || onChain < current - 1)) {
    throw new CounterRuleError(
      `the chain's last op cert counter is ${onChain} but the leader's cert has ${current}: expected ${current - 1} or ${current} ` +
        "(is the leader running an old cert, or is the query asking about another pool?)",
    );
  }
  if (requested !== undefined) {
    const [low, high] = onChain !== undefined ? [onChain, onChain + 1] : [current, current];
    const allowedHigh = onChain !== undefined ? high : current;
    if (requested < low || requested > allowedHigh) {
      const why = onChain !== undefined ? `the chain last saw ${onChain}, so ${onChain} or ${onChain + 1}` : `the chain's counter is unknown, so only the current ${current} is sure to be accepted`;
      throw new CounterRuleError(`--counter ${requested} would be refused by the chain: ${why}`);
    }
    return { counter: requested, reason: `--counter ${requested} (within the chain's bounds)` };
  }
  if (onChain !== undefined) {
    return { counter: onChain + 1, reason: `the chain last saw counter ${onChain}: the new cert takes ${onChain + 1} (m + 1)` };
  }
  return {
    counter: current,
    reason:
      `the chain's counter is unknown (no kes.onChainCounterCommand): re-using the current cert's ${current}, which the ` +
      `chain accepts whether or not a block was made with it (m + 2 would be refused)`,
  };
}

/**
 * Runs `kes.onChainCounterCommand` on a producer and reads the one number it must print. Only where it can work: a
 * node that has finished starting and is synced (its local socket answers queries about the chain's tip); a node
 * still replaying, fenced mid-promotion or behind the chain would answer nothing or an old counter, so the query is
 * refused there, naming why. README "kes.onChainCounterCommand" has a wrapper that works.
 */
export async function queryOnChainCounter(config: PoolConfig, c: Connection): Promise<number> {
  const command = config.kes.onChainCounterCommand;
  if (!command) throw new OpsError(c.name, "query the on-chain counter", "kes.onChainCounterCommand is not set", "set it (README: kes.onChainCounterCommand), or go without the chain's counter");
  const health = await nodeHealth(config, c);
  if (!health.healthy) {
    throw new OpsError(c.name, "query the on-chain counter", `kes.onChainCounterCommand needs a synced node with a socket, and ${c.name}'s node is not (${health.problem})`, "run it when the node is synced, or remove kes.onChainCounterCommand to re-use the current counter");
  }
  const r = await c.run(command, { step: "query the on-chain counter" });
  const value = r.stdout.toString().trim();
  if (r.exitCode !== 0 || !/^\d+$/.test(value)) {
    throw new OpsError(c.name, "query the on-chain counter", `kes.onChainCounterCommand exited ${r.exitCode} and printed ${JSON.stringify(value.slice(0, 80))}`, "fix the command (it must print one number: README, kes.onChainCounterCommand), or remove it to re-use the current counter");
  }
  return Number(value);
}
