import { describe, expect, test } from "vitest";
import { loadPoolConfig, DEFAULT_POOL_CONFIG_PATH } from "../../config/load";
import { testPool } from "../../test/pool-fixtures";
import { costOfPool, priceTable } from "../cost";
import { formatPoolCost, poolCost } from "./pool-cost";

const table = priceTable();
const { config: defaultPool } = loadPoolConfig(DEFAULT_POOL_CONFIG_PATH);

describe("npm run cost", () => {
  const cost = costOfPool(defaultPool, table);
  const line = (prefix: string) => cost.lines.find((l) => l.item.startsWith(prefix))!;

  test("the default pool in eu-west-1: each line from the price table, and the total is their sum", () => {
    const p = table.regions["eu-west-1"]!;
    const month = (hourly: number) => Math.round(hourly * 730 * 100) / 100;
    // Counted independently of the synthesised stacks: 6 nodes on m6i.large, a t3.micro bastion, a t3.medium monitor,
    // 8 roots of 30 GiB, 6 chain volumes of 200 GiB, 7 endpoints in 2 AZs, 6 Elastic IPs, 2 keys, 5 secrets, 18 alarms.
    const expected =
      6 * month(p.ec2Hourly["m6i.large"]!) + month(p.ec2Hourly["t3.micro"]!) + month(p.ec2Hourly["t3.medium"]!) +
      (8 * 30 + 6 * 200) * p.ebsGp3PerGiBMonth + 7 * 2 * month(p.interfaceEndpointPerAzHour) + 6 * month(p.publicIpv4PerHour) +
      2 * p.kmsKeyPerMonth + 5 * p.secretPerMonth + 18 * p.alarmPerMonth;
    expect(cost.total).toBeCloseTo(expected, 1);
    expect(cost.total).toBeCloseTo(cost.lines.reduce((s, l) => s + l.monthly, 0), 2);
    expect(cost.total).toBe(777.11);
    expect(line("EC2 relay")).toMatchObject({ quantity: 4, unitPrice: 78.11, monthly: 312.44, source: "ec2" });
    expect(line("VPC interface endpoints")).toMatchObject({ quantity: 14, monthly: 112.42 });
    expect(line("Public IPv4")).toMatchObject({ quantity: 6, monthly: 21.9 });
  });

  test("the table shows every line with its source, the usage-billed items and the prices' date", () => {
    const text = formatPoolCost(cost, table);
    expect(text).toMatch(/^monthly on-demand cost in eu-west-1 \(prices as of 2025-01\)/);
    expect(text).toMatch(/^total\s+777\.11$/m);
    expect(text).toMatch(/^EBS gp3 chain-database volumes\s+1200 GiB-month\s+0\.088\s+105\.60\s+ebs$/m);
    expect(text).toContain("ec2: https://aws.amazon.com/ec2/pricing/on-demand/");
    expect(text).toContain("data out to the internet (relays serving peers): USD 0.09 per GB");
  });

  test("the cheaper safe options cost less, by what they drop", () => {
    const fewer = costOfPool(testPool({ vpc: { interfaceEndpoints: ["secretsmanager", "ssm"] } }), table);
    const all = costOfPool(testPool(), table);
    expect(Math.round((all.total - fewer.total) * 100) / 100).toBeCloseTo(5 * 2 * 8.03, 1);
    const smallVolumes = costOfPool(testPool({ relays: { chainDbVolumeGiB: 60 }, producers: { chainDbVolumeGiB: 60 } }), table);
    expect(all.total - smallVolumes.total).toBeCloseTo(6 * 140 * 0.088, 1);
  });

  test("the sandbox, when enabled, costs its volumes and address but no hours (stopped between bakes)", () => {
    const withSandbox = costOfPool(testPool({ sandbox: { enabled: true } }), table);
    expect(withSandbox.lines.find((l) => l.item.startsWith("EC2 sandbox"))).toMatchObject({ quantity: 0, monthly: 0, note: expect.stringMatching(/stopped between bakes/) });
    expect(withSandbox.lines.find((l) => l.item.startsWith("Public IPv4"))?.quantity).toBe(7);
  });

  test("an instance type or a region the table lacks is refused naming it and the file", () => {
    expect(() => costOfPool(testPool({ relays: { instanceType: "c7a.xlarge" } }), table)).toThrow(/prices\.json has no eu-west-1 price for c7a\.xlarge \(the relay hosts\)/);
    expect(() => poolCost("ap-south-2", [], table)).toThrow(/prices\.json has no prices for ap-south-2 \(it has eu-west-1, us-east-1\)/);
  });
});
