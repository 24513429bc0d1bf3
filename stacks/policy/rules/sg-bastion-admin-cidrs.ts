import { isAnywhere, parseIpv4Cidr } from "../../../config/cidr";
import { COMPLIANT, NOT_APPLICABLE, tagOf, violation, type PolicyRule } from "../rule";
import { INGRESS_RESOURCE_TYPES, ingressOf } from "./security-group-ingress";

/** The bastion admits traffic only from the operators' own ranges, and never from the whole internet. */
export const sgBastionAdminCidrs: PolicyRule = {
  id: "SG-BASTION-ADMIN-CIDRS",
  threat: "a bastion reachable from anywhere invites credential stuffing and SSH exploits against the pool's only door",
  equivalents: { checkov: ["CKV_AWS_24", "CKV_AWS_382"], trivy: ["AVD-AWS-0107"], cdkNag: ["AwsSolutions-EC23"] },
  resourceTypes: INGRESS_RESOURCE_TYPES,
  check(resource, context) {
    const views = ingressOf(resource, context).filter((v) => tagOf(v.group, "Role") === "bastion");
    if (views.length === 0) return NOT_APPLICABLE;
    const allowed = new Set(context.config.bastion.adminCidrs);
    for (const view of views) {
      for (const cidr of view.cidrs) {
        if (isAnywhere(cidr) || parseIpv4Cidr(cidr)?.prefixLength === 0) {
          return violation(`the bastion admits ${cidr} (bastion.adminCidrs): SSH from anywhere is refused, list your operators' ranges`);
        }
        if (!allowed.has(cidr)) return violation(`the bastion admits ${cidr}, which is not in bastion.adminCidrs`);
      }
    }
    return COMPLIANT;
  },
};
