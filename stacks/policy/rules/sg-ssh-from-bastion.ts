import { COMPLIANT, NOT_APPLICABLE, tagOf, violation, type PolicyRule } from "../rule";
import { coversPort, describeIngress, INGRESS_RESOURCE_TYPES, ingressOf } from "./security-group-ingress";

const SSH_PORT = 22;

/** SSH reaches any host other than the bastion only from the bastion's security group. */
export const sgSshFromBastion: PolicyRule = {
  id: "SG-SSH-ONLY-FROM-BASTION",
  threat: "SSH that bypasses the bastion escapes its audit trail and its single, hardened entry point",
  equivalents: { checkov: ["CKV_AWS_24"], trivy: ["AVD-AWS-0107"], cdkNag: ["AwsSolutions-EC23"] },
  resourceTypes: INGRESS_RESOURCE_TYPES,
  check(resource, context) {
    const views = ingressOf(resource, context).filter((v) => coversPort(v, SSH_PORT));
    if (views.length === 0) return NOT_APPLICABLE;
    for (const view of views) {
      if (tagOf(view.group, "Role") === "bastion") continue; // SG-BASTION-ADMIN-CIDRS governs the bastion itself.
      if (view.cidrs.length > 0) {
        return violation(`${describeIngress(view)} admits SSH from ${view.cidrs.join(", ")}; expected the bastion group only`);
      }
      const foreign = view.sourceGroups.filter((g) => tagOf(g, "Role") !== "bastion");
      if (foreign.length > 0) {
        return violation(`${describeIngress(view)} admits SSH from a group other than the bastion's`);
      }
    }
    return COMPLIANT;
  },
};
