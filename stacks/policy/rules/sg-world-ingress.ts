import { isAnywhere } from "../../../config/cidr";
import { COMPLIANT, NOT_APPLICABLE, tagOf, violation, type PolicyRule } from "../rule";
import { describeIngress, INGRESS_RESOURCE_TYPES, ingressOf } from "./security-group-ingress";

/** Only the relay port on the relay group may be open to the internet. */
export const sgWorldIngress: PolicyRule = {
  id: "SG-WORLD-INGRESS",
  threat: "a port open to the whole internet exposes a service to scanning, brute force and exploits",
  equivalents: { checkov: ["CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_277"], trivy: ["AVD-AWS-0107"], cdkNag: ["AwsSolutions-EC23"] },
  resourceTypes: INGRESS_RESOURCE_TYPES,
  check(resource, context) {
    const views = ingressOf(resource, context);
    if (views.length === 0) return NOT_APPLICABLE;
    const relayPort = context.config.relays.port;
    for (const view of views) {
      const open = view.cidrs.filter(isAnywhere);
      if (open.length === 0) continue;
      const isRelayGroup = tagOf(view.group, "Role") === "relay";
      const onlyRelayPort = view.protocol === "tcp" && view.fromPort === relayPort && view.toPort === relayPort;
      if (isRelayGroup && onlyRelayPort) continue;
      return violation(
        `${describeIngress(view)} is open to ${open.join(", ")} on the ${tagOf(view.group, "Role") ?? "unknown"} group; ` +
          `only tcp ${relayPort} (relays.port) on the relay group may be`,
      );
    }
    return COMPLIANT;
  },
};
