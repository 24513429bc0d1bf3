/**
 * What a pool needs from its AWS account before anything is created, read from the synthesised stacks themselves (so
 * it counts exactly what Terraform will make): its Elastic IPs and its instances by type, and the base image the
 * config names.
 */
import type { PoolConfig } from "../../config/schema";

export interface PlannedInstance {
  /** The Name tag: `sandstone-relay-1`. */
  readonly name: string;
  readonly instanceType: string;
}

export type ImageSource = { readonly id: string } | { readonly lookup: { readonly owners: readonly string[]; readonly namePattern: string; readonly architecture: string } };

export interface PoolRequirements {
  readonly poolName: string;
  readonly region: string;
  readonly elasticIps: number;
  readonly instances: readonly PlannedInstance[];
  readonly image: ImageSource;
}

interface StackJson {
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
}

export function poolRequirements(config: PoolConfig, stacks: readonly StackJson[]): PoolRequirements {
  const all = (type: string) => stacks.flatMap((s) => Object.values(s.resource?.[type] ?? {}));
  const instances = all("aws_instance").map((i) => {
    const type = i.instance_type;
    if (typeof type !== "string" || type.includes("${")) throw new Error(`an instance's type is not known at synth (${String(type)}): the preflight cannot count its vCPUs`);
    return { name: String((i.tags as Record<string, string> | undefined)?.Name ?? "instance"), instanceType: type };
  });
  const image: ImageSource = config.emulator ? { id: config.emulator.amiId } : "id" in config.ami ? { id: config.ami.id } : { lookup: config.ami.lookup };
  return { poolName: config.name, region: config.region, elasticIps: all("aws_eip").length, instances, image };
}
