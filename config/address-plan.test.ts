import { describe, expect, test } from "vitest";
import { testPool } from "../test/pool-fixtures";
import { cidrContainsAddress, parseIpv4Address, parseIpv4Cidr } from "./cidr";
import { endpointAddresses, poolAddressPlan } from "./address-plan";

describe("interface endpoint addresses", () => {
  test("every endpoint has a pinned address in each producer subnet, none of them a host's", () => {
    const plan = poolAddressPlan(testPool({ sandbox: { enabled: true } }));
    expect(plan.endpoints).toHaveLength(7 * 2);
    const hostIps = new Set(plan.hosts.map((h) => h.privateIp));
    const endpointIps = plan.endpoints.map((e) => e.privateIp);
    expect(new Set(endpointIps).size).toBe(endpointIps.length);
    for (const endpoint of plan.endpoints) {
      expect(hostIps.has(endpoint.privateIp)).toBe(false);
      const subnet = plan.subnets.find((s) => s.id === endpoint.subnetId)!;
      expect(subnet.tier).toBe("producer");
      expect(cidrContainsAddress(parseIpv4Cidr(subnet.cidr)!, parseIpv4Address(endpoint.privateIp)!)).toBe(true);
    }
  });

  test("per subnet and service, counting down from the last usable address; a dropped service moves no other", () => {
    const all = endpointAddresses(testPool());
    expect(all["producer-a"]).toMatchObject({ secretsmanager: "10.40.8.254", ssm: "10.40.8.253", kms: "10.40.8.250", monitoring: "10.40.8.248" });
    expect(all["producer-b"]?.secretsmanager).toBe("10.40.9.254");
    const fewer = endpointAddresses(testPool({ vpc: { interfaceEndpoints: ["secretsmanager", "ssm"] } }));
    expect(fewer["producer-a"]).toEqual({ secretsmanager: "10.40.8.254", ssm: "10.40.8.253" });
  });

  test("the smallest subnets still hold every endpoint above the hosts", () => {
    const plan = poolAddressPlan(testPool({ vpc: { subnetPrefixLength: 27 }, relays: { count: 16 } }));
    const producerA = plan.endpoints.filter((e) => e.subnetId === "producer-a").map((e) => e.privateIp);
    expect(producerA).toContain("10.40.1.30");
    expect(producerA).toContain("10.40.1.24");
    expect(plan.hosts.find((h) => h.name === "producer-1")?.privateIp).toBe("10.40.1.10");
  });
});
