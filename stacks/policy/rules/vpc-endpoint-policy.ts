import { asRecords, COMPLIANT, violation, type PolicyRule } from "../rule";

/**
 * Every VPC endpoint carries a policy, and each of its Allow statements is limited to principals of the pool's account
 * (`aws:PrincipalAccount`). Without one, AWS attaches a full-access policy: any credential — another account's
 * included — may use the pool's private path, e.g. to copy a producer's keys to a bucket outside the pool.
 */
export const vpcEndpointPolicy: PolicyRule = {
  id: "VPC-ENDPOINT-POLICY",
  threat: "a VPC endpoint with AWS's default full-access policy lets a compromised host send the pool's data to another account",
  equivalents: { checkov: ["CKV_AWS_123"], cdkNag: [] },
  resourceTypes: ["aws_vpc_endpoint"],
  check(resource) {
    const text = resource.config.policy;
    if (typeof text !== "string" || text.length === 0) return violation("the endpoint has no policy (AWS's default allows every principal of every account)");
    const statements = asRecords((JSON.parse(text) as { Statement?: unknown }).Statement);
    const open = statements.find((s) => {
      if (s.Effect !== "Allow") return false;
      const equals = asRecords(s.Condition).flatMap((c) => asRecords(c.StringEquals));
      return !equals.some((e) => typeof e["aws:PrincipalAccount"] === "string" && e["aws:PrincipalAccount"].length > 0);
    });
    if (open) return violation(`statement ${String(open.Sid ?? "(no Sid)")} allows principals of any account (no aws:PrincipalAccount condition)`);
    return COMPLIANT;
  },
};
