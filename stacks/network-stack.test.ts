import { describe, expect, test } from "vitest";
import { poolAddressPlan } from "../config/address-plan";
import { resourcesOf, synthJson, testApp, testPool } from "../test/pool-fixtures";
import { NetworkStack } from "./network-stack";

function network(changes = {}) {
  const stack = new NetworkStack(testApp(), "network", testPool(changes));
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
    const fewer = network({ vpc: { interfaceEndpoints: ["secretsmanager", "ssm"] } });
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

  test("every interface endpoint's interfaces sit at pinned addresses, none of them a host's", () => {
    const hostIps = new Set(poolAddressPlan(testPool({ sandbox: { enabled: true } })).hosts.map((h) => h.privateIp));
    const interfaces = resourcesOf(json, "aws_vpc_endpoint").filter((e) => e.vpc_endpoint_type === "Interface");
    const pinned = interfaces.flatMap((e) => e.subnet_configuration as { ipv4: string; subnet_id: string }[]);
    expect(pinned).toHaveLength(7 * 2);
    for (const e of interfaces) {
      const configs = e.subnet_configuration as { subnet_id: string }[];
      expect(configs.map((c) => c.subnet_id).sort()).toEqual([...(e.subnet_ids as string[])].sort());
    }
    expect(new Set(pinned.map((p) => p.ipv4)).size).toBe(pinned.length);
    expect(pinned.filter((p) => hostIps.has(p.ipv4))).toEqual([]);
    expect(pinned.map((p) => p.ipv4)).toContain("10.40.8.254");
  });

  test("every endpoint has a policy admitting only the pool's account; Secrets Manager only the pool's secrets", () => {
    const endpoints = resourcesOf(json, "aws_vpc_endpoint");
    expect(endpoints).toHaveLength(8);
    for (const endpoint of endpoints) {
      const policy = JSON.parse(String(endpoint.policy)) as { Statement: { Effect: string; Condition: Record<string, Record<string, string>>; Resource: string }[] };
      expect(policy.Statement.every((s) => s.Effect === "Allow" && s.Condition.StringEquals?.["aws:PrincipalAccount"]?.includes("aws_caller_identity"))).toBe(true);
    }
    const secrets = endpoints.find((e) => String(e.service_name).endsWith(".secretsmanager"))!;
    expect(JSON.parse(String(secrets.policy)).Statement[0].Resource).toMatch(/^arn:aws:secretsmanager:eu-west-1:\$\{data\.aws_caller_identity\.[^}]+\}:secret:testpool\/\*$/);
  });

  test("security groups are replaceable: a name prefix, never a fixed name, with create_before_destroy", () => {
    const groups = resourcesOf(json, "aws_security_group");
    expect(groups).toHaveLength(6);
    for (const group of groups) {
      expect(group.name).toBeUndefined();
      expect(String(group.name_prefix)).toMatch(/^testpool-[a-z]+-$/);
      expect(group.lifecycle).toMatchObject({ create_before_destroy: true });
    }
  });

  test("producers' HTTPS goes only to the endpoints' group (and S3's prefix list)", () => {
    const producerHttps = resourcesOf(json, "aws_vpc_security_group_egress_rule").filter((r) => String(r.security_group_id).includes("security-groups_producer") && r.from_port === 443);
    expect(producerHttps).toHaveLength(2);
    expect(producerHttps.some((r) => r.cidr_ipv4 !== undefined)).toBe(false);
    expect(producerHttps.map((r) => String(r.referenced_security_group_id ?? r.prefix_list_id))).toEqual([
      expect.stringContaining("aws_security_group.endpoints_sg"),
      expect.stringContaining("aws_vpc_endpoint.endpoints_endpoint-s3"),
    ]);
  });

  test("more network ACL rules than AWS allows are refused naming the fields; so is an IPv6 range", () => {
    const adminCidrs = Array.from({ length: 17 }, (_, i) => `198.51.${i}.0/24`);
    const extraIngress = [{ tier: "monitoring", port: 9000, cidrs: ["192.0.2.0/24"], description: "status page" }];
    expect(() => network({ bastion: { adminCidrs }, extraIngress: [] })).not.toThrow();
    expect(() => network({ bastion: { adminCidrs }, extraIngress })).toThrow(
      /^network ACL management: 21 inbound rules, more than AWS's 20 per network ACL \(the rules from config: bastion\.adminCidrs \(17\), extraIngress\[0\]\.cidrs \(1\)\)/,
    );
    const v6 = [{ tier: "relay", port: 6000, cidrs: ["203.0.113.0/24", "2001:db8::/32"], description: "v6 peers" }];
    expect(() => network({ extraIngress: v6 })).toThrow(/^extraIngress\[0\]\.cidrs\[1\]: 2001:db8::\/32 is an IPv6 range, but the pool's VPC has no IPv6/);
  });
});
