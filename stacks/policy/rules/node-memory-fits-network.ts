import { NETWORK_SIZING } from "../../../config/networks";
import { COMPLIANT, NOT_APPLICABLE, violation, type PolicyRule } from "../rule";

/**
 * Memory (GiB) of the instance types a relay or producer may run on: AWS's published sizes of the general-purpose and
 * memory-optimised families (docs.aws.amazon.com/ec2/latest/instancetypes). A type missing here is unknown to the
 * rule: on a network that needs more than the smallest node, that is a violation (add the type here).
 */
export const INSTANCE_MEMORY_GIB: Readonly<Record<string, number>> = (() => {
  const sizes = { large: 1, xlarge: 2, "2xlarge": 4, "4xlarge": 8, "8xlarge": 16, "12xlarge": 24, "16xlarge": 32 } as const;
  const families: Record<string, number> = {};
  // GiB per "large": m (general purpose) 8, r (memory optimised) 16, c (compute) 4.
  for (const [prefix, perLarge] of [["m", 8], ["r", 16], ["c", 4]] as const) {
    for (const gen of ["5", "5a", "6i", "6a", "7i", "7a", "6g", "7g"]) {
      for (const [size, factor] of Object.entries(sizes)) families[`${prefix}${gen}.${size}`] = perLarge * factor;
    }
  }
  const t3 = { "t3.micro": 1, "t3.small": 2, "t3.medium": 4, "t3.large": 8, "t3.xlarge": 16, "t3.2xlarge": 32 };
  return { ...families, ...t3 };
})();

/** Relays and producers have the memory their network needs with the in-memory ledger backend. */
export const nodeMemoryFitsNetwork: PolicyRule = {
  id: "NODE-MEMORY-FITS-NETWORK",
  threat:
    "a node with the in-memory ledger (LedgerDB V2InMemory) on an instance smaller than its network needs runs out of memory and stops following the chain (mainnet: 24 GB, cardano-node 11.1 release notes)",
  equivalents: {},
  resourceTypes: ["aws_instance"],
  check(resource, context) {
    const tags = (resource.config.tags ?? {}) as Record<string, unknown>;
    if (tags.Role !== "relay" && tags.Role !== "producer") return NOT_APPLICABLE;
    const { network, node } = context.config;
    if (node.ledgerBackend !== "V2InMemory") return COMPLIANT;
    const need = NETWORK_SIZING[network].minMemoryGiBInMemoryLedger;
    const type = String(resource.config.instance_type);
    const memory = INSTANCE_MEMORY_GIB[type];
    if (memory === undefined) return network === "mainnet" ? violation(`${type}: memory unknown to the rule (INSTANCE_MEMORY_GIB); a ${network} ${tags.Role} with the in-memory ledger needs >= ${need} GiB`) : COMPLIANT;
    if (memory < need) {
      return violation(`${type} has ${memory} GiB; a ${network} ${tags.Role} with the in-memory ledger needs >= ${need} GiB (choose e.g. r6i.xlarge, or node.ledgerBackend: V2LSM)`);
    }
    return COMPLIANT;
  },
};
