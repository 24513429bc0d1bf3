/** `--from-aws` against the emulator: instances tagged like the stacks tag them become the same inventory. */
import { EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePoolConfig } from "../../config/load";
import { poolTags } from "../../config/names";
import { awsClientSettings } from "../aws/client-config";
import { emulatorAvailable, startAwsEmulator as startMoto, type AwsEmulator as Emulator } from "../../lab/aws-emulator";
import { runPoolOps } from "../../lab/harness";
import { TEST_AUTHORIZED_KEY } from "../../test/pool-fixtures";
import { inventoryFromAws } from "./inventory-aws";

const config = parsePoolConfig(
  { name: "sandstone", region: "eu-west-1", availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"], bastion: { adminCidrs: ["198.51.100.0/24"] }, ssh: { authorizedKeys: [TEST_AUTHORIZED_KEY] } },
  "test",
);

const NO_MOTO = emulatorAvailable() ? undefined : "moto (the AWS emulator) is not installed for python3";

describe.skipIf(NO_MOTO)(`inventory from EC2 tags (moto)${NO_MOTO ? ` [skipped: ${NO_MOTO}]` : ""}`, () => {
  let moto: Emulator;
  beforeAll(async () => {
    moto = await startMoto();
    const ec2 = new EC2Client(awsClientSettings({ region: "eu-west-1", endpoint: moto.endpoint }));
    const launch = async (pool: string, role: "relay" | "producer" | "bastion", name: string) => {
      await ec2.send(
        new RunInstancesCommand({
          ImageId: "ami-12c6146b",
          InstanceType: "t3.micro",
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [{ ResourceType: "instance", Tags: Object.entries(poolTags(pool, role, name)).map(([Key, Value]) => ({ Key, Value })) }],
        }),
      );
    };
    await launch("sandstone", "relay", "relay-2");
    await launch("sandstone", "producer", "producer-1");
    await launch("sandstone", "bastion", "bastion");
    await launch("sandstone", "relay", "relay-1");
    await launch("otherpool", "relay", "relay-1"); // another pool in the same account: never included
    ec2.destroy();
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
  });

  it("finds the pool's instances by Pool and Role tags, names them from the Name tag, bastion apart", async () => {
    const inventory = await inventoryFromAws(config, { endpoint: moto.endpoint });
    expect(inventory.pool).toBe("sandstone");
    expect(inventory.bastion.name).toBe("bastion");
    expect(inventory.bastion.publicIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(inventory.hosts.map((h) => [h.name, h.role])).toEqual([
      ["relay-1", "relay"],
      ["relay-2", "relay"],
      ["producer-1", "producer"],
    ]);
    for (const h of inventory.hosts) expect(h.instanceId).toMatch(/^i-[0-9a-f]+$/);
    expect(inventory.parameters.leader).toBe("/sandstone/leader");
  });

  it("pool-ops --from-aws --aws-endpoint prints the same inventory", async () => {
    const run = await runPoolOps(undefined, ["--from-aws", "--aws-endpoint", moto.endpoint, "--json", "inventory", "--role", "relay"]);
    expect(run.code, run.stderr).toBe(0);
    const printed = run.json<{ hosts: Array<{ name: string }>; selected: string[] }>();
    expect(printed.selected).toEqual(["relay-1", "relay-2"]);
  });

  it("an account without the pool's bastion is a clear error", async () => {
    await expect(inventoryFromAws({ ...config, name: "nopool" }, { endpoint: moto.endpoint })).rejects.toThrow(/expected one instance with Role=bastion, found 0/);
  });
});
