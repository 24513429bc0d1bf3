/**
 * Taking the pool's lease: one conditional put (lease-table.ts); when someone else holds it, refuse at once naming the
 * holder, or with `--wait SECONDS` look again every few seconds until it is free or the deadline passes.
 */
import { randomBytes } from "node:crypto";
import { describeLease } from "./describe-lease";
import { LeaseHeldError } from "./lease-errors";
import { epochSeconds, isExpired, thisProcess, type LeaseHolder, type LeaseRecord } from "./lease-record";
import type { LeaseTable } from "./lease-table";
import { DEFAULT_LEASE_TIMING, SYSTEM_CLOCK, type LeaseClock, type LeaseTiming } from "./lease-timing";

export interface TakeOptions {
  /** The command taking it, recorded in the lease (`rotate-kes`). */
  readonly command: string;
  /** Wait up to this many seconds for a held lease. @default 0: refuse at once */
  readonly waitSeconds?: number | undefined;
  /** @default this process */
  readonly holder?: LeaseHolder;
  readonly timing?: LeaseTiming;
  readonly clock?: LeaseClock;
  /** Told once, when the lease is held and the taker starts waiting. */
  readonly onWait?: (current: LeaseRecord) => void;
}

/** Immediate retries when the lease was released or expired between the put and the read that explains it. */
const MAX_QUICK_RETRIES = 3;

export async function takeLease(table: LeaseTable, options: TakeOptions): Promise<LeaseRecord> {
  const timing = options.timing ?? DEFAULT_LEASE_TIMING;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const holder = options.holder ?? thisProcess();
  const waitMs = Math.max(0, options.waitSeconds ?? 0) * 1000;
  const started = clock.now();
  const deadline = started + waitMs;
  let waiting = false;
  let quickRetries = 0;
  for (;;) {
    const now = clock.now();
    const record: LeaseRecord = {
      holder,
      command: options.command,
      startedAt: new Date(now).toISOString(),
      expiresAt: epochSeconds(now) + timing.ttlSeconds,
      token: randomBytes(16).toString("hex"),
    };
    if (await table.putIfFree(record, epochSeconds(now))) return record;
    const current = await table.read();
    if ((current === undefined || isExpired(current, epochSeconds(clock.now()))) && quickRetries < MAX_QUICK_RETRIES) {
      quickRetries += 1;
      continue;
    }
    quickRetries = 0;
    if (clock.now() >= deadline) throw refusal(table, current, waitMs, clock.now());
    if (!waiting && current) options.onWait?.(current);
    waiting = true;
    await clock.sleep(Math.min(timing.pollMs, deadline - clock.now()));
  }
}

function refusal(table: LeaseTable, current: LeaseRecord | undefined, waitMs: number, nowMs: number): LeaseHeldError {
  const who = current ? describeLease(current, nowMs) : "held (its holder could not be read)";
  const waited = waitMs > 0 ? `still ${who} after waiting ${Math.round(waitMs / 1000)} s` : who;
  return new LeaseHeldError(
    `the pool's lease (DynamoDB ${table.name}) is ${waited}: another operator is changing the pool; nothing was changed`,
    `wait for it to finish (--wait SECONDS waits for the lease), or, only if that command is dead (its machine gone), pool-ops lock break`,
    current,
  );
}
