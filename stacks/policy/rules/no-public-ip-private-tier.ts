import { COMPLIANT, isTrue, NOT_APPLICABLE, tagOf, violation, type PolicyRule } from "../rule";

/** Nothing in the producer tier gets a public address: not by subnet default, instance flag or Elastic IP. */
export const noPublicIpPrivateTier: PolicyRule = {
  id: "NET-NO-PUBLIC-IP-PRIVATE-TIER",
  threat: "a public address on a producer makes it reachable around its relays and discoverable on the internet",
  equivalents: { checkov: ["CKV_AWS_130", "CKV_AWS_88"], trivy: ["AVD-AWS-0164"], cdkNag: ["VPCNoUnrestrictedRouteToIGW"] },
  resourceTypes: ["aws_subnet", "aws_instance", "aws_eip", "aws_eip_association", "aws_network_interface"],
  check(resource, context) {
    const c = resource.config;
    switch (resource.type) {
      case "aws_subnet":
        if (tagOf(resource, "Tier") !== "producer") return NOT_APPLICABLE;
        return isTrue(c.map_public_ip_on_launch) ? violation("the producer subnet maps public IPs on launch") : COMPLIANT;
      case "aws_instance": {
        const subnet = context.referenced(resource, c.subnet_id);
        const privateTier = tagOf(resource, "Role") === "producer" || tagOf(subnet, "Tier") === "producer";
        if (!privateTier) return NOT_APPLICABLE;
        return isTrue(c.associate_public_ip_address) ? violation("a producer-tier instance asks for a public IP") : COMPLIANT;
      }
      default: {
        // Elastic IPs and their associations point at an instance or an interface.
        const target = context.referenced(resource, c.instance ?? c.instance_id ?? c.network_interface ?? c.network_interface_id);
        if (!target) return NOT_APPLICABLE;
        const subnet = context.referenced(target, target.config.subnet_id);
        const privateTier = tagOf(target, "Role") === "producer" || tagOf(subnet, "Tier") === "producer";
        return privateTier ? violation(`an Elastic IP is attached to ${target.type}.${target.name} in the producer tier`) : COMPLIANT;
      }
    }
  },
};
