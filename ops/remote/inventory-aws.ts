/**
 * `--from-aws`: the inventory built from EC2 instead of Terraform outputs, for when state is not at hand. Instances are
 * found by the tags every resource carries (config/names.ts): `Pool=<pool>` and a `Role`; the host name is the `Name`
 * tag without the pool prefix (`sandstone-relay-1` → `relay-1`).
 */
import type { Instance } from "@aws-sdk/client-ec2";
import type { PoolConfig } from "../../config/schema";
import { poolParameterNames, poolSecretNames, TAG_NAME, TAG_POOL, TAG_ROLE } from "../../config/names";
import { awsClientSettings, type AwsTarget } from "../aws/client-config";
import { HOST_ROLES, InventoryError, parseInventory, type Inventory } from "./inventory";

export interface FromAwsOptions {
  /** Emulator endpoint (test mode). @default the config's emulator.endpoint */
  readonly endpoint?: string | undefined;
  /** Where the EC2 calls go (region, emulator, private endpoints); wins over `endpoint`. @default the config's region */
  readonly target?: AwsTarget | undefined;
}

function tag(instance: Instance, key: string): string | undefined {
  return instance.Tags?.find((t) => t.Key === key)?.Value;
}

export async function inventoryFromAws(config: PoolConfig, options: FromAwsOptions = {}): Promise<Inventory> {
  const target: AwsTarget = options.target ?? { region: config.region, endpoint: options.endpoint ?? config.emulator?.endpoint };
  const endpoint = target.endpoint ?? target.privateEndpoints?.ec2;
  const source = `EC2 in ${config.region}${endpoint ? ` (${endpoint})` : ""}, tag ${TAG_POOL}=${config.name}`;
  // Loaded here, not at the top: a bundled CLI would otherwise load the EC2 client (~200 ms) on every command.
  const { DescribeInstancesCommand, EC2Client } = await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client(awsClientSettings(target, "ec2"));
  const instances: Instance[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: `tag:${TAG_POOL}`, Values: [config.name] },
            { Name: `tag:${TAG_ROLE}`, Values: [...HOST_ROLES] },
            { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] },
          ],
          NextToken: token,
        }),
      );
      for (const r of page.Reservations ?? []) instances.push(...(r.Instances ?? []));
      token = page.NextToken;
    } while (token);
  } catch (error) {
    throw new InventoryError(`${source}: DescribeInstances failed: ${(error as Error).message}`);
  } finally {
    ec2.destroy();
  }
  const prefix = `${config.name}-`;
  const hosts = instances.map((i) => {
    const name = tag(i, TAG_NAME) ?? "";
    return {
      name: name.startsWith(prefix) ? name.slice(prefix.length) : name,
      role: tag(i, TAG_ROLE),
      privateIp: i.PrivateIpAddress,
      publicIp: i.PublicIpAddress ?? null,
      instanceId: i.InstanceId,
      availabilityZone: i.Placement?.AvailabilityZone,
    };
  });
  const bastions = hosts.filter((h) => h.role === "bastion");
  if (bastions.length !== 1) {
    throw new InventoryError(`${source}: expected one instance with ${TAG_ROLE}=bastion, found ${bastions.length}`);
  }
  const order = (h: { role?: string; name: string }) => `${HOST_ROLES.indexOf(h.role as never)}-${h.name.padStart(20)}`;
  return parseInventory(
    {
      pool: config.name,
      network: config.network,
      region: config.region,
      bastion: bastions[0],
      hosts: hosts.filter((h) => h.role !== "bastion").sort((a, b) => order(a).localeCompare(order(b))),
      secrets: { ...poolSecretNames(config.name) },
      parameters: { leader: poolParameterNames(config.name).leader },
    },
    source,
  );
}
