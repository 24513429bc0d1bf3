import { describe, expect, test } from "vitest";
import { Testing } from "cdktf";
import { resourcesOf, synthJson, testPool } from "../test/pool-fixtures";
import { NetworkStack } from "./network-stack";

function network(changes = {}) {
  const stack = new NetworkStack(Testing.app(), "network", testPool(changes));
  return synthJson(stack);
}

describe("network stack", () => {
  const json = network();
  const subnets = resourcesOf(json, "aws_subnet");
  const tier = (s: Record<string, unknown>) => (s.tags as Record<string, string>).Tier;

  test("one VPC and six subnets over three AZs", () => {
    expect(resourcesOf(json, "aws_vpc")).toHaveLength(1);
    expect(subnets).toHaveLength(6);
    expect(new Set(subnets.map((s) => s.availability_zone)).size).toBe(3);
    expect(subnets.map(tier).sort()).toEqual(["management", "producer", "producer", "relay", "relay", "relay"]);
    expect(subnets.every((s) => s.map_public_ip_on_launch === false)).toBe(true);
  });

  test("producer route tables carry no route at all; the public one routes 0.0.0.0/0 to the internet gateway", () => {
    const tables = resourcesOf(json, "aws_route_table");
    const producerTables = tables.filter((t) => tier(t) === "producer");
    expect(producerTables).toHaveLength(2);
    for (const table of producerTables) expect(table.route).toEqual([]);
    expect(resourcesOf(json, "aws_route")).toHaveLength(0);
    const [publicTable] = tables.filter((t) => tier(t) === "public");
    expect(publicTable?.route).toEqual([expect.objectContaining({ cidr_block: "0.0.0.0/0", gateway_id: expect.stringContaining("aws_internet_gateway") })]);
    expect(resourcesOf(json, "aws_nat_gateway")).toHaveLength(0);
  });

  test("interface endpoints in the producer subnets (configurable set) and an S3 gateway endpoint", () => {
    const endpoints = resourcesOf(json, "aws_vpc_endpoint");
    expect(endpoints.filter((e) => e.vpc_endpoint_type === "Interface").map((e) => String(e.service_name).split(".").pop()).sort()).toEqual([
      "ec2messages", "kms", "logs", "monitoring", "secretsmanager", "ssm", "ssmmessages",
    ]);
    expect(endpoints.filter((e) => e.vpc_endpoint_type === "Gateway")).toHaveLength(1);
    const fewer = network({ vpc: { interfaceEndpoints: ["secretsmanager", "kms"] } });
    expect(resourcesOf(fewer, "aws_vpc_endpoint").filter((e) => e.vpc_endpoint_type === "Interface")).toHaveLength(2);
  });

  test("flow logs go to an encrypted log group with retention; the default security group has no rules", () => {
    expect(resourcesOf(json, "aws_flow_log")).toEqual([expect.objectContaining({ traffic_type: "ALL", log_destination_type: "cloud-watch-logs" })]);
    expect(resourcesOf(json, "aws_cloudwatch_log_group")).toEqual([expect.objectContaining({ retention_in_days: 90, kms_key_id: expect.any(String) })]);
    expect(resourcesOf(json, "aws_default_security_group")).toEqual([expect.objectContaining({ ingress: [], egress: [] })]);
    expect(resourcesOf(json, "aws_network_acl")).toHaveLength(3);
  });

  test("only the relay port on the relay group is open to the internet", () => {
    const open = resourcesOf(json, "aws_vpc_security_group_ingress_rule").filter((r) => r.cidr_ipv4 === "0.0.0.0/0");
    expect(open).toEqual([expect.objectContaining({ from_port: 3001, to_port: 3001, ip_protocol: "tcp" })]);
    expect(String(open[0]?.security_group_id)).toContain("security-groups_relay");
  });

  test("SSH to nodes comes only from the bastion group, to the bastion only from admin CIDRs", () => {
    const ssh = resourcesOf(json, "aws_vpc_security_group_ingress_rule").filter((r) => r.from_port === 22);
    const fromCidr = ssh.filter((r) => r.cidr_ipv4);
    expect(fromCidr.map((r) => r.cidr_ipv4)).toEqual(["203.0.113.0/24"]);
    expect(ssh.filter((r) => r.referenced_security_group_id).every((r) => String(r.referenced_security_group_id).includes("security-groups_bastion"))).toBe(true);
  });
});
