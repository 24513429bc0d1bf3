/**
 * The account facts the preflight reads: Service Quotas, the Elastic IPs and running instances already there (not
 * the pool's own), vCPUs per instance type, and whether the base image is available. Read with the deployer's
 * credentials (the standard chain), or from the emulator in test mode.
 */
import type { AwsTarget } from "../../ops/aws/client-config";
import { awsClientSettings } from "../../ops/aws/client-config";
import type { ImageSource } from "./requirements";

export interface QuotaValue {
  readonly value: number;
  /** `applied`: the account's own value; `default`: AWS's default, for a quota never changed. */
  readonly source: "applied" | "default";
}

export interface AccountReader {
  /** The quota, or undefined when Service Quotas holds no such quota for the account. */
  quota(serviceCode: string, quotaCode: string): Promise<QuotaValue | undefined>;
  /** Elastic IPs of the region not tagged `Pool=<pool>`. */
  elasticIpsInUse(poolName: string): Promise<number>;
  /** Instance types of the region's pending and running instances not tagged `Pool=<pool>`. */
  runningInstanceTypes(poolName: string): Promise<string[]>;
  /** Default vCPUs per instance type (unknown types are missing from the map). */
  vcpus(instanceTypes: readonly string[]): Promise<Map<string, number>>;
  /** The image id the source resolves to and its state, or undefined when there is none. */
  image(source: ImageSource): Promise<{ id: string; state: string } | undefined>;
  close(): void;
}

const errorName = (error: unknown) => (error && typeof error === "object" && "name" in error ? String((error as { name: unknown }).name) : "");
const notPool = (poolName: string) => (tags: { Key?: string | undefined; Value?: string | undefined }[] | undefined) => !(tags ?? []).some((t) => t.Key === "Pool" && t.Value === poolName);

export async function awsAccountReader(target: AwsTarget): Promise<AccountReader> {
  const [quotasSdk, ec2Sdk] = await Promise.all([import("@aws-sdk/client-service-quotas"), import("@aws-sdk/client-ec2")]);
  const settings = awsClientSettings(target);
  const quotas = new quotasSdk.ServiceQuotasClient(settings);
  const ec2 = new ec2Sdk.EC2Client(settings);
  return {
    async quota(ServiceCode, QuotaCode) {
      try {
        const out = await quotas.send(new quotasSdk.GetServiceQuotaCommand({ ServiceCode, QuotaCode }));
        if (typeof out.Quota?.Value === "number") return { value: out.Quota.Value, source: "applied" };
      } catch (error) {
        if (errorName(error) !== "NoSuchResourceException") throw error;
      }
      // A quota the account never changed may have no applied value: AWS's default is what holds.
      try {
        const out = await quotas.send(new quotasSdk.GetAWSDefaultServiceQuotaCommand({ ServiceCode, QuotaCode }));
        return typeof out.Quota?.Value === "number" ? { value: out.Quota.Value, source: "default" } : undefined;
      } catch (error) {
        if (errorName(error) === "NoSuchResourceException") return undefined;
        throw error;
      }
    },
    async elasticIpsInUse(poolName) {
      const out = await ec2.send(new ec2Sdk.DescribeAddressesCommand({}));
      return (out.Addresses ?? []).filter((a) => notPool(poolName)(a.Tags)).length;
    },
    async runningInstanceTypes(poolName) {
      const types: string[] = [];
      let NextToken: string | undefined;
      do {
        const out = await ec2.send(new ec2Sdk.DescribeInstancesCommand({ Filters: [{ Name: "instance-state-name", Values: ["pending", "running"] }], NextToken }));
        for (const instance of (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
          if (notPool(poolName)(instance.Tags) && instance.InstanceType) types.push(instance.InstanceType);
        }
        NextToken = out.NextToken;
      } while (NextToken);
      return types;
    },
    async vcpus(instanceTypes) {
      const found = new Map<string, number>();
      const unique = [...new Set(instanceTypes)];
      if (unique.length === 0) return found;
      const out = await ec2.send(new ec2Sdk.DescribeInstanceTypesCommand({ InstanceTypes: unique as never[] })).catch((error: unknown) => {
        if (errorName(error) === "InvalidInstanceType") throw new Error(`EC2 does not offer ${unique.join(", ")} in ${target.region} (${(error as Error).message})`);
        throw error;
      });
      for (const t of out.InstanceTypes ?? []) if (t.InstanceType && t.VCpuInfo?.DefaultVCpus) found.set(t.InstanceType, t.VCpuInfo.DefaultVCpus);
      return found;
    },
    async image(source) {
      const out =
        "id" in source
          ? await ec2.send(new ec2Sdk.DescribeImagesCommand({ ImageIds: [source.id] })).catch((error: unknown) => {
              if (/^InvalidAMIID\./.test(errorName(error))) return { Images: [] };
              throw error;
            })
          : await ec2.send(
              new ec2Sdk.DescribeImagesCommand({
                Owners: [...source.lookup.owners],
                Filters: [
                  { Name: "name", Values: [source.lookup.namePattern] },
                  { Name: "architecture", Values: [source.lookup.architecture] },
                ],
              }),
            );
      const newest = [...(out.Images ?? [])].sort((a, b) => String(b.CreationDate ?? "").localeCompare(String(a.CreationDate ?? "")))[0];
      return newest?.ImageId ? { id: newest.ImageId, state: newest.State ?? "unknown" } : undefined;
    },
    close() {
      quotas.destroy();
      ec2.destroy();
    },
  };
}
