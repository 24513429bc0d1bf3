/**
 * Every name and tag comes from here, fed by the pool name, so every resource is findable by its `Pool` and `Role`
 * tags and pool-ops can find what the stacks made without importing them.
 */
import type { HostRole } from "./address-plan";

export const TAG_POOL = "Pool";
export const TAG_ROLE = "Role";
export const TAG_NAME = "Name";

/** `sandstone-relay-1`: the Name tag and the prefix of resource names. */
export function resourceName(poolName: string, ...parts: string[]): string {
  return [poolName, ...parts].join("-");
}

export function poolTags(poolName: string, role: HostRole | "network" | "security" | "monitoring" | "pool", name?: string): Record<string, string> {
  return { [TAG_POOL]: poolName, [TAG_ROLE]: role, ...(name ? { [TAG_NAME]: resourceName(poolName, name) } : {}) };
}

/** Secrets Manager secret names. Values are put by pool-ops, never by Terraform. */
export function poolSecretNames(poolName: string) {
  return {
    /** Cold signing key: readable by the operator role only. */
    coldSigningKey: `${poolName}/cold/signing-key`,
    /** Op-cert issue counter (holds the cold verification key too): operator role only. */
    opcertCounter: `${poolName}/cold/opcert-counter`,
    /** Hot keys, readable by the producer instance role only. */
    kesSigningKey: `${poolName}/hot/kes-signing-key`,
    vrfSigningKey: `${poolName}/hot/vrf-signing-key`,
    opcert: `${poolName}/hot/opcert`,
  } as const;
}

export type PoolSecretKey = keyof ReturnType<typeof poolSecretNames>;

/** SSM parameter names of the pool's mutable facts. */
export function poolParameterNames(poolName: string) {
  return {
    /** Host name of the producer that forges. Terraform creates it and ignores later changes (promote writes it). */
    leader: `/${poolName}/leader`,
    /** Golden AMI id per role, written by `pool-ops image bake`. */
    goldenAmi: (role: "relay" | "producer" | "bastion" | "monitoring") => `/${poolName}/ami/${role}`,
    /** ARN of the alert topic, read by the monitoring host at boot. */
    alertTopicArn: `/${poolName}/alert-topic-arn`,
  } as const;
}

/**
 * The pool-wide lease: one DynamoDB table holding at most one item, taken by every pool-ops command that changes the
 * pool, so two operators never change it at once. The stacks create the table (security stack); pool-ops finds it by
 * this name, as it finds the secrets.
 */
export function poolLeaseTable(poolName: string) {
  return {
    name: resourceName(poolName, "pool-ops-lease"),
    /** The partition key (a string); the lease is the item whose key is `leaseItemKey`. */
    partitionKey: "pk",
    leaseItemKey: "lease",
    /** The item holding the journal of the change in progress (ops/lease/pool-journal.ts); it has no expiry. */
    journalItemKey: "journal",
    /** Epoch seconds after which the lease is free; also the table's TTL attribute (DynamoDB removes stale items). */
    expiresAttribute: "expiresAt",
  } as const;
}
