/**
 * Exemptions are attached to the construct they concern (and cover its children), each with a reason that ends up in
 * the synthesised construct metadata. There is no global switch.
 */
import type { IConstruct } from "constructs";

export const EXEMPTION_METADATA = "pool-policy-exemption";

export interface PolicyExemption {
  readonly ruleId: string;
  readonly reason: string;
}

export function exemptFromPolicy(construct: IConstruct, ruleId: string, reason: string): void {
  if (reason.trim().length < 10) throw new Error(`exemption from ${ruleId} on ${construct.node.path} needs a real reason`);
  construct.node.addMetadata(EXEMPTION_METADATA, { ruleId, reason } satisfies PolicyExemption);
}

/** Exemptions on the construct and every scope above it. */
export function exemptionsOf(construct: IConstruct): PolicyExemption[] {
  return construct.node.scopes.flatMap((scope) =>
    scope.node.metadata.filter((entry) => entry.type === EXEMPTION_METADATA).map((entry) => entry.data as PolicyExemption),
  );
}
