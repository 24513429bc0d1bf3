import { isAnywhere } from "../../../config/cidr";
import { asRecords, COMPLIANT, NOT_APPLICABLE, stringsOf, tagOf, violation, type PolicyResource, type PolicyRule } from "../rule";

const INTERNET_TARGETS = ["gateway_id", "nat_gateway_id", "egress_only_gateway_id", "carrier_gateway_id", "transit_gateway_id", "vpc_peering_connection_id"];

function routeIsInternet(route: Record<string, unknown>): boolean {
  const destination = [...stringsOf(route.cidr_block), ...stringsOf(route.destination_cidr_block), ...stringsOf(route.ipv6_cidr_block), ...stringsOf(route.destination_ipv6_cidr_block)];
  const target = INTERNET_TARGETS.some((key) => {
    const value = route[key];
    return typeof value === "string" && value !== "" && !value.includes("vpce") && value !== "local";
  });
  return destination.some(isAnywhere) || target;
}

/** Producer route tables carry no route out of the VPC: no internet gateway, no NAT, no default route. */
export const producerNoInternetRoute: PolicyRule = {
  id: "NET-PRODUCER-NO-INTERNET-ROUTE",
  threat: "a block producer with a path to the internet can be reached or can leak keys when anything else fails",
  equivalents: { cdkNag: ["VPCNoUnrestrictedRouteToIGW"], trivy: ["AVD-AWS-0164"] },
  resourceTypes: ["aws_route_table", "aws_route"],
  check(resource, context) {
    let table: PolicyResource | undefined = resource;
    let routes = asRecords(resource.config.route);
    if (resource.type === "aws_route") {
      table = context.referenced(resource, resource.config.route_table_id);
      routes = [resource.config as Record<string, unknown>];
    }
    if (tagOf(table, "Tier") !== "producer") return NOT_APPLICABLE;
    const bad = routes.find(routeIsInternet);
    return bad ? violation(`the producer route table has a route out of the VPC (${JSON.stringify(bad)})`) : COMPLIANT;
  },
};
