/** How pool-ops words a lease for an operator: who, which command, since when, until when. Pure. */
import { holderName, isExpired, type LeaseRecord } from "./lease-record";

function utcTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

function seconds(n: number): string {
  return `${n} s`;
}

/** `held by alice@laptop pid 4242 running rotate-kes since 2025-12-01 23:00:03 UTC, expires in 83 s` (or `expired 5 s ago`). */
export function describeLease(record: LeaseRecord, nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  const expiry = isExpired(record, now) ? `expired ${seconds(now - record.expiresAt)} ago` : `expires in ${seconds(record.expiresAt - now)} unless renewed`;
  return `held by ${holderName(record.holder)} running ${record.command} since ${utcTime(record.startedAt)}, ${expiry}`;
}

/** The lease as data (`lock status --json`, audit lines): never the token. */
export function leaseFacts(record: LeaseRecord, nowMs: number) {
  const now = Math.floor(nowMs / 1000);
  return {
    holder: record.holder,
    command: record.command,
    startedAt: record.startedAt,
    expiresAt: new Date(record.expiresAt * 1000).toISOString(),
    expiresInSeconds: record.expiresAt - now,
  };
}
