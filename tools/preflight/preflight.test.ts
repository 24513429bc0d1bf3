import { describe, expect, test } from "vitest";
import type { AccountReader } from "./account";
import { formatPreflight, preflight } from "./preflight";
import type { PoolRequirements } from "./requirements";

const VCPUS: Record<string, number> = { "m6i.large": 2, "t3.micro": 2, "t3.medium": 2, "g5.xlarge": 4 };

function account(overrides: Partial<{ quotas: Record<string, number>; eipsInUse: number; running: string[]; image: { id: string; state: string } | undefined }> = {}): AccountReader {
  const quotas = overrides.quotas ?? { "L-0263D0A3": 5, "L-1216C47A": 32 };
  return {
    quota: async (_service, code) => (code in quotas ? { value: quotas[code]!, source: "applied" } : undefined),
    elasticIpsInUse: async () => overrides.eipsInUse ?? 0,
    runningInstanceTypes: async () => overrides.running ?? [],
    vcpus: async (types) => new Map(types.filter((t) => t in VCPUS).map((t) => [t, VCPUS[t]!])),
    image: async () => ("image" in overrides ? overrides.image : { id: "ami-0abc", state: "available" }),
    close: () => {},
  };
}

const defaultPool: PoolRequirements = {
  poolName: "sandstone",
  region: "eu-west-1",
  elasticIps: 6,
  instances: [...Array(6).fill({ name: "node", instanceType: "m6i.large" }), { name: "bastion", instanceType: "t3.micro" }, { name: "monitoring", instanceType: "t3.medium" }],
  image: { lookup: { owners: ["136693071363"], namePattern: "debian-12-amd64-*", architecture: "x86_64" } },
};

describe("preflight", () => {
  test("the default pool on a fresh account: six Elastic IPs against five, refused with the request to make", async () => {
    const report = await preflight(defaultPool, account());
    expect(report.ok).toBe(false);
    const text = formatPreflight(report);
    expect(text).toContain("EC2-VPC Elastic IPs (L-0263D0A3): the pool needs 6, 0 in use outside the pool, quota 5 — short by 1");
    expect(text).toContain("(L-1216C47A): the pool needs 16, 0 in use outside the pool, quota 32 — ok");
    expect(text).toContain("aws service-quotas request-service-quota-increase --region eu-west-1 --service-code ec2 --quota-code L-0263D0A3 --desired-value 6");
    expect(text).not.toContain("--quota-code L-1216C47A");
    expect(text).toMatch(/^refused: nothing was created/m);
  });

  test("what the account already runs outside the pool counts against the same quotas", async () => {
    const report = await preflight(defaultPool, account({ quotas: { "L-0263D0A3": 8, "L-1216C47A": 17 }, eipsInUse: 3, running: ["t3.micro"] }));
    expect(report.quotas.map((q) => [q.quotaCode, q.needed, q.inUse, q.ok])).toEqual([
      ["L-0263D0A3", 6, 3, false],
      ["L-1216C47A", 16, 2, false],
    ]);
    expect(report.quotas.map((q) => q.request)).toEqual([expect.stringMatching(/L-0263D0A3 --desired-value 9$/), expect.stringMatching(/L-1216C47A --desired-value 18$/)]);
  });

  test("room for everything passes; another family is noted as not covered", async () => {
    const report = await preflight({ ...defaultPool, instances: [...defaultPool.instances, { name: "gpu", instanceType: "g5.xlarge" }] }, account({ quotas: { "L-0263D0A3": 10, "L-1216C47A": 32 } }));
    expect(report.ok).toBe(true);
    expect(report.notes).toEqual(["g5.xlarge (the pool) counts against its own family's vCPU quota, not checked here"]);
    expect(formatPreflight(report)).not.toMatch(/refused/);
  });

  test("a quota Service Quotas does not hold, or a missing or pending image, is refused", async () => {
    const noQuota = await preflight(defaultPool, account({ quotas: { "L-0263D0A3": 10 } }));
    expect(noQuota.ok).toBe(false);
    expect(formatPreflight(noQuota)).toContain("(L-1216C47A): the pool needs 16, 0 in use outside the pool, no quota found in Service Quotas — cannot check");
    const big = { quotas: { "L-0263D0A3": 10, "L-1216C47A": 32 } };
    const missing = await preflight({ ...defaultPool, image: { id: "ami-0123456789abcdef0" } }, account({ ...big, image: undefined }));
    expect(missing.ok).toBe(false);
    expect(formatPreflight(missing)).toMatch(/base image ami-0123456789abcdef0: not found in eu-west-1 .*\nrefused: nothing was created. Fix the pool config's `ami` first/);
    const pending = await preflight(defaultPool, account({ ...big, image: { id: "ami-0abc", state: "pending" } }));
    expect(formatPreflight(pending)).toContain("ami-0abc is pending, not available");
  });

  test("an instance type EC2 does not know is an error naming it", async () => {
    await expect(preflight({ ...defaultPool, instances: [{ name: "x", instanceType: "m9z.huge" }] }, account())).rejects.toThrow(/no vCPU count for m9z\.huge in eu-west-1/);
  });
});
