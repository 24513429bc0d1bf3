/**
 * The pool-wide lease as pool-ops sees it: who holds it (user, machine, process), for which command, since when, until
 * when, and the holder's random token — the only thing renewal and release are conditional on. Pure: the DynamoDB item
 * it is stored as (the table's schema is config/names.ts `poolLeaseTable`) is read through zod, since another
 * machine's pool-ops (or a hand edit) wrote it.
 */
import { hostname, userInfo } from "node:os";
import { z } from "zod";

export interface LeaseHolder {
  readonly user: string;
  readonly host: string;
  readonly pid: number;
}

export interface LeaseRecord {
  readonly holder: LeaseHolder;
  /** The command that holds it: `rotate-kes`, `promote`, `lock` … */
  readonly command: string;
  /** ISO 8601, the holder's clock. */
  readonly startedAt: string;
  /** Epoch seconds after which the lease is free (the holder's clock). Renewals move it. */
  readonly expiresAt: number;
  /** Random, per take: proves a renewal or release comes from the holder. */
  readonly token: string;
}

/** This process as a holder: its login user, machine and pid. */
export function thisProcess(): LeaseHolder {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry (containers) */
  }
  return { user, host: hostname(), pid: process.pid };
}

/** `alice@laptop pid 4242`. */
export function holderName(holder: LeaseHolder): string {
  return `${holder.user}@${holder.host} pid ${holder.pid}`;
}

/** Held at `nowSeconds`, or expired (free for anyone to take). */
export function isExpired(record: LeaseRecord, nowSeconds: number): boolean {
  return record.expiresAt < nowSeconds;
}

/** Epoch seconds of a millisecond time, as the lease's expiry and its condition compare them. */
export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

// ---- the DynamoDB item ---------------------------------------------------------------------------------------------

/** A DynamoDB attribute value, as far as the lease item uses them. */
export type AttributeValue = { S: string } | { N: string } | { M: Record<string, AttributeValue> };

const stringValue = z.object({ S: z.string() });
const numberValue = z.object({ N: z.string().regex(/^\d+$/) }).transform((v) => Number(v.N));

const itemSchema = z.object({
  holder: z.object({
    M: z.object({
      user: stringValue,
      host: stringValue,
      pid: numberValue,
    }),
  }),
  command: stringValue,
  startedAt: stringValue,
  expiresAt: numberValue,
  token: stringValue,
});

/** The item's attributes (besides its key). */
export function toItem(record: LeaseRecord): Record<string, AttributeValue> {
  return {
    holder: { M: { user: { S: record.holder.user }, host: { S: record.holder.host }, pid: { N: String(record.holder.pid) } } },
    command: { S: record.command },
    startedAt: { S: record.startedAt },
    expiresAt: { N: String(record.expiresAt) },
    token: { S: record.token },
  };
}

export class LeaseItemError extends Error {
  override name = "LeaseItemError";
}

/** The record an item holds; a malformed item is refused, naming what is wrong. */
export function fromItem(item: Record<string, unknown>, where: string): LeaseRecord {
  const parsed = itemSchema.safeParse(item);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "item"}: ${i.message}`).join("; ");
    throw new LeaseItemError(`the lease item in ${where} is malformed (${problems}): remove it with pool-ops lock break`);
  }
  const p = parsed.data;
  return {
    holder: { user: p.holder.M.user.S, host: p.holder.M.host.S, pid: p.holder.M.pid },
    command: p.command.S,
    startedAt: p.startedAt.S,
    expiresAt: p.expiresAt,
    token: p.token.S,
  };
}
