/**
 * The hot pair's two secrets change as one unit. A producer that boots while they are being written must never get a
 * KES key and an op cert that do not belong together: its node would start, and every block it made would carry a
 * signature its cert does not vouch for. Secrets Manager has no transaction over two secrets, so both versions are
 * written with one version id (ClientRequestToken), KES key first: a reader takes the op cert's current version and
 * then the KES key *of that version id* (stacks/boot/leader-guard.sh), which exists from the moment the cert's does.
 * A fresh id per write: Secrets Manager refuses a reused id with a different value.
 */
import { randomUUID } from "node:crypto";
import type { SecretStore } from "./secret-store";

export interface HotPairSecretIds {
  readonly kesSigningKey: string;
  readonly opcert: string;
}

/** Writes the pair (KES key, then op cert) under one new version id; returns it. */
export async function putHotPair(store: SecretStore, ids: HotPairSecretIds, kesText: string, certText: string): Promise<string> {
  const versionId = newPairVersionId();
  await store.put(ids.kesSigningKey, kesText, { versionId });
  await store.put(ids.opcert, certText, { versionId });
  return versionId;
}

/** A version id for one write of the pair (a UUID: 36 characters, within Secrets Manager's 32–64). */
export function newPairVersionId(): string {
  return randomUUID();
}
