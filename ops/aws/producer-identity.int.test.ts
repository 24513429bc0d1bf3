/**
 * confirmProducerIdentity against the AWS emulator: instances launched with the pool's tier profiles and tags as the
 * stacks launch them. A producer is confirmed; an inventory pointing producer-1 at a relay's address (or naming the
 * relay's instance) is refused naming what disagrees, as is an instance without the producer profile.
 */
import { EC2Client, RunInstancesCommand, StopInstancesCommand } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolTags } from "../../config/names";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../../lab/aws-emulator";
import { awsClientSettings } from "./client-config";
import { checkProducerInstance, confirmProducerIdentity, ProducerIdentityError } from "./producer-identity";

const NO_MOTO = emulatorAvailable() ? undefined : "moto (the AWS emulator) is not installed for python3";

/** moto's IAM over its query API (the SDK's IAM client is not a dependency): it routes by the credential scope. */
async function createInstanceProfile(endpoint: string, name: string): Promise<void> {
  const response = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0" },
    body: `Action=CreateInstanceProfile&InstanceProfileName=${name}&Version=2010-05-08`,
  });
  if (response.status !== 200) throw new Error(`CreateInstanceProfile ${name}: ${response.status} ${await response.text()}`);
}

describe("producer identity, pure checks", () => {
  const candidate = { name: "producer-1", privateIp: "10.40.8.10", instanceId: "i-0123456789abcdef3" };
  const good = {
    InstanceId: candidate.instanceId,
    State: { Name: "running" as const },
    PrivateIpAddress: "10.40.8.10",
    IamInstanceProfile: { Arn: "arn:aws:iam::123456789012:instance-profile/sandstone-producer" },
    Tags: [{ Key: "Pool", Value: "sandstone" }, { Key: "Role", Value: "producer" }],
  };
  it("confirms a running producer at the inventory's address with the producer profile", () => {
    expect(checkProducerInstance(good, candidate, "sandstone").instanceProfileArn).toBe(good.IamInstanceProfile.Arn);
  });
  it("refuses each disagreement, naming it", () => {
    expect(() => checkProducerInstance(undefined, candidate, "sandstone")).toThrow(/instance i-0123456789abcdef3 does not exist; no key was sent/);
    expect(() => checkProducerInstance({ ...good, State: { Name: "stopped" } }, candidate, "sandstone")).toThrow(/is stopped, not running/);
    expect(() => checkProducerInstance({ ...good, PrivateIpAddress: "10.40.0.10" }, candidate, "sandstone")).toThrow(/the inventory says 10\.40\.8\.10, but instance i-0123456789abcdef3 has 10\.40\.0\.10/);
    expect(() => checkProducerInstance({ ...good, IamInstanceProfile: { Arn: "arn:aws:iam::123456789012:instance-profile/sandstone-relay" } }, candidate, "sandstone")).toThrow(/runs with instance profile .*sandstone-relay, not sandstone-producer/);
    expect(() => checkProducerInstance({ ...good, IamInstanceProfile: { Arn: "arn:aws:iam::123456789012:instance-profile/x/sandstone-producer" } }, candidate, "sandstone")).not.toThrow();
    expect(() => checkProducerInstance({ ...good, IamInstanceProfile: undefined }, candidate, "sandstone")).toThrow(/instance profile none/);
    expect(() => checkProducerInstance({ ...good, Tags: [{ Key: "Pool", Value: "sandstone" }, { Key: "Role", Value: "relay" }] }, candidate, "sandstone")).toThrow(/tagged Pool=sandstone, Role=relay/);
  });
});

describe.skipIf(NO_MOTO)(`producer identity through EC2 (moto)${NO_MOTO ? ` [skipped: ${NO_MOTO}]` : ""}`, () => {
  let emulator: AwsEmulator;
  const hosts: Record<string, { instanceId: string; privateIp: string }> = {};
  beforeAll(async () => {
    emulator = await startAwsEmulator();
    await createInstanceProfile(emulator.endpoint, "sandstone-producer");
    await createInstanceProfile(emulator.endpoint, "sandstone-relay");
    const ec2 = new EC2Client(awsClientSettings({ region: "eu-west-1", endpoint: emulator.endpoint }));
    const launch = async (name: string, role: "relay" | "producer", profile: string) => {
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: "ami-12c6146b",
          InstanceType: "t3.micro",
          MinCount: 1,
          MaxCount: 1,
          IamInstanceProfile: { Name: profile },
          TagSpecifications: [{ ResourceType: "instance", Tags: Object.entries(poolTags("sandstone", role, name)).map(([Key, Value]) => ({ Key, Value })) }],
        }),
      );
      const i = out.Instances![0]!;
      hosts[name] = { instanceId: i.InstanceId!, privateIp: i.PrivateIpAddress! };
    };
    await launch("producer-1", "producer", "sandstone-producer");
    await launch("relay-1", "relay", "sandstone-relay");
    await launch("producer-2", "producer", "sandstone-relay"); // tagged producer, but not given the producer profile
    await launch("producer-3", "producer", "sandstone-producer");
    await ec2.send(new StopInstancesCommand({ InstanceIds: [hosts["producer-3"]!.instanceId] }));
    ec2.destroy();
  }, 60_000);
  afterAll(async () => {
    await emulator?.stop();
  });
  const target = () => ({ region: "eu-west-1", endpoint: emulator.endpoint });

  it("confirms producer-1 at its address", async () => {
    const p = hosts["producer-1"]!;
    await expect(confirmProducerIdentity(target(), { name: "producer-1", ...p }, "sandstone")).resolves.toMatchObject({ instanceId: p.instanceId });
  });

  it("an inventory pointing producer-1 at relay-1's address, or at relay-1's instance, is refused", async () => {
    const p = hosts["producer-1"]!;
    const r = hosts["relay-1"]!;
    await expect(confirmProducerIdentity(target(), { name: "producer-1", instanceId: p.instanceId, privateIp: r.privateIp }, "sandstone")).rejects.toThrow(
      new RegExp(`the inventory says ${r.privateIp.replace(/\./g, "\\.")}, but instance ${p.instanceId} has ${p.privateIp.replace(/\./g, "\\.")}`),
    );
    await expect(confirmProducerIdentity(target(), { name: "producer-1", ...r }, "sandstone")).rejects.toThrow(/instance profile .*sandstone-relay, not sandstone-producer/);
  });

  it("refuses an instance tagged producer without the producer profile, a stopped one, an unknown id, and an unreachable EC2", async () => {
    await expect(confirmProducerIdentity(target(), { name: "producer-2", ...hosts["producer-2"]! }, "sandstone")).rejects.toThrow(/not sandstone-producer/);
    await expect(confirmProducerIdentity(target(), { name: "producer-3", ...hosts["producer-3"]! }, "sandstone")).rejects.toThrow(/is stopped, not running/);
    await expect(confirmProducerIdentity(target(), { name: "producer-9", instanceId: "i-0123456789abcdef9", privateIp: "10.0.0.9" }, "sandstone")).rejects.toThrow(/does not exist/);
    const dead = { region: "eu-west-1", endpoint: "http://127.0.0.1:9" };
    await expect(confirmProducerIdentity(dead, { name: "producer-1", ...hosts["producer-1"]! }, "sandstone")).rejects.toBeInstanceOf(ProducerIdentityError);
  });
});
