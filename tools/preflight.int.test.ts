/**
 * `npm run plan` on the emulator with a fresh account's Elastic IP quota (5, served by the Service Quotas stand-in in
 * front of moto): the default pool needs six, so the plan refuses before anything is created — no terraform init, no
 * apply — naming the quota and the request that raises it. The account's facts (addresses, instances, the image)
 * are read from moto itself.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../lab/aws-emulator";
import { ec2Quotas, startServiceQuotasStandin, type ServiceQuotasStandin } from "../test/service-quotas-standin";
import { PROJECT_ROOT, requireTool, tempDir, writePoolConfig } from "../test/support";
import { awsAccountReader } from "./preflight/account";
import { preflight } from "./preflight/preflight";
import { runCommand } from "./terraform";

const canRun = requireTool(emulatorAvailable(), "moto (the AWS emulator) is not installed for python3");
const credentials = { region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 1 };

describe.runIf(canRun)("preflight on the emulator", () => {
  let moto: AwsEmulator;
  let standin: ServiceQuotasStandin;
  beforeAll(async () => {
    moto = await startAwsEmulator();
    standin = await startServiceQuotasStandin(moto.endpoint, ec2Quotas({ "L-0263D0A3": 5, "L-1216C47A": 32 }));
  }, 60_000);
  afterAll(async () => {
    await standin?.stop();
    await moto?.stop();
  });

  test("`npm run plan` refuses the default pool on five Elastic IPs before creating anything, naming the quota and the request", async () => {
    const dir = tempDir("pool-preflight");
    const config = writePoolConfig(dir, { backend: { type: "local", directory: join(dir, "state") } });
    const plan = await runCommand("npx", ["tsx", "tools/plan.ts", "--emulator"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, POOL_CONFIG: config, POOL_EMULATOR_ENDPOINT: standin.endpoint, CDKTF_OUTDIR: join(dir, "cdktf.out"), CHECKPOINT_DISABLE: "1" },
    });
    expect(plan.code, plan.stdout + plan.stderr).toBe(1);
    expect(plan.stderr).toContain("EC2-VPC Elastic IPs (L-0263D0A3): the pool needs 6, 0 in use outside the pool, quota 5 — short by 1");
    expect(plan.stderr).toContain("aws service-quotas request-service-quota-increase --region eu-west-1 --service-code ec2 --quota-code L-0263D0A3 --desired-value 6");
    expect(plan.stdout).not.toContain("terraform init");
    expect(existsSync(join(dir, "state"))).toBe(false);

    // Nothing of the pool exists in the emulated account.
    const { EC2Client, DescribeAddressesCommand, DescribeInstancesCommand, DescribeVpcsCommand } = await import("@aws-sdk/client-ec2");
    const { SecretsManagerClient, ListSecretsCommand } = await import("@aws-sdk/client-secrets-manager");
    const ec2 = new EC2Client({ ...credentials, endpoint: moto.endpoint });
    const secrets = new SecretsManagerClient({ ...credentials, endpoint: moto.endpoint });
    try {
      expect((await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "tag:Pool", Values: ["sandstone"] }] }))).Vpcs).toEqual([]);
      expect((await ec2.send(new DescribeAddressesCommand({}))).Addresses).toEqual([]);
      expect((await ec2.send(new DescribeInstancesCommand({}))).Reservations).toEqual([]);
      expect((await secrets.send(new ListSecretsCommand({}))).SecretList).toEqual([]);
    } finally {
      ec2.destroy();
      secrets.destroy();
    }
  }, 180_000);

  test("the account's own addresses and running instances (read from EC2) count; the image is looked up there", async () => {
    const { EC2Client, AllocateAddressCommand, RunInstancesCommand, ReleaseAddressCommand, TerminateInstancesCommand } = await import("@aws-sdk/client-ec2");
    const ec2 = new EC2Client({ ...credentials, endpoint: moto.endpoint });
    const reader = await awsAccountReader({ region: "eu-west-1", endpoint: standin.endpoint });
    try {
      const address = await ec2.send(new AllocateAddressCommand({ Domain: "vpc" }));
      const run = await ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", InstanceType: "t3.medium", MinCount: 1, MaxCount: 1 }));
      const requirements = { poolName: "sandstone", region: "eu-west-1", elasticIps: 4, instances: [{ name: "relay", instanceType: "m6i.large" }], image: { id: "ami-12c6146b" } };
      const report = await preflight(requirements, reader);
      expect(report.quotas.map((q) => [q.quotaCode, q.needed, q.inUse, q.quota, q.ok])).toEqual([
        ["L-0263D0A3", 4, 1, 5, true],
        ["L-1216C47A", 2, 2, 32, true],
      ]);
      expect(report.image).toEqual({ description: "base image ami-12c6146b: ami-12c6146b available", ok: true });
      expect((await preflight({ ...requirements, image: { id: "ami-0000000000000dead" } }, reader)).image.ok).toBe(false);
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [run.Instances![0]!.InstanceId!] }));
      await ec2.send(new ReleaseAddressCommand({ AllocationId: address.AllocationId! }));
    } finally {
      reader.close();
      ec2.destroy();
    }
  }, 60_000);
});
