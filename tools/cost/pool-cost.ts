/**
 * The pool's monthly on-demand cost, line by line, from what the stacks synthesise (so it counts exactly what
 * Terraform makes) and a price table kept as data (prices.json: per region, with its date and sources). Pure: the
 * caller gives the synthesised stacks and the table.
 *
 * Billed by use and left out of the total (shown with their unit prices): data through the endpoints, log ingestion
 * (flow logs), data out to the internet (a mainnet relay serves blocks to its peers: often the largest of them).
 */
import { z } from "zod";

const RegionPrices = z.strictObject({
  asOf: z.string(),
  ec2Hourly: z.record(z.string(), z.number().positive()),
  ebsGp3PerGiBMonth: z.number().positive(),
  interfaceEndpointPerAzHour: z.number().positive(),
  publicIpv4PerHour: z.number().positive(),
  kmsKeyPerMonth: z.number().positive(),
  secretPerMonth: z.number().positive(),
  alarmPerMonth: z.number().positive(),
  usage: z.strictObject({ endpointDataPerGB: z.number(), logsIngestionPerGB: z.number(), internetDataOutPerGB: z.number() }),
});

export const PriceTableSchema = z.strictObject({
  currency: z.literal("USD"),
  hoursPerMonth: z.number().positive(),
  note: z.string(),
  regions: z.record(z.string(), RegionPrices),
  sources: z.strictObject({
    ec2: z.string(),
    ebs: z.string(),
    privatelink: z.string(),
    publicIpv4: z.string(),
    kms: z.string(),
    secretsManager: z.string(),
    cloudwatch: z.string(),
    dataTransfer: z.string(),
  }),
});
export type PriceTable = z.infer<typeof PriceTableSchema>;
export type PriceSource = keyof PriceTable["sources"];

export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  /** `instance-month`, `GiB-month`, … */
  readonly unit: string;
  readonly unitPrice: number;
  readonly monthly: number;
  readonly source: PriceSource;
  readonly note?: string;
}

export interface UsagePrice {
  readonly item: string;
  readonly unitPrice: number;
  readonly unit: string;
  readonly source: PriceSource;
}

export interface PoolCost {
  readonly region: string;
  readonly currency: "USD";
  readonly asOf: string;
  readonly lines: readonly CostLine[];
  readonly total: number;
  readonly usageBased: readonly UsagePrice[];
}

interface StackJson {
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
}

const cents = (n: number) => Math.round(n * 100) / 100;

export function poolCost(region: string, stacks: readonly StackJson[], table: PriceTable): PoolCost {
  const prices = table.regions[region];
  if (!prices) throw new Error(`tools/cost/prices.json has no prices for ${region} (it has ${Object.keys(table.regions).join(", ")}): add the region's prices with their date`);
  const all = (type: string) => stacks.flatMap((s) => Object.values(s.resource?.[type] ?? {}));
  const hours = table.hoursPerMonth;
  const lines: CostLine[] = [];
  const line = (l: Omit<CostLine, "monthly">) => lines.push({ ...l, monthly: cents(l.quantity * l.unitPrice) });

  // Instances, by role and type. The sandbox is stopped between bakes: its volumes and address are billed, not hours.
  const instances = all("aws_instance").map((i) => ({ type: String(i.instance_type), role: String((i.tags as Record<string, string>)?.Role ?? "instance") }));
  const groups = new Map<string, { role: string; type: string; count: number }>();
  for (const i of instances) {
    const key = `${i.role} ${i.type}`;
    groups.set(key, { ...i, count: (groups.get(key)?.count ?? 0) + 1 });
  }
  for (const { role, type, count } of groups.values()) {
    const hourly = prices.ec2Hourly[type];
    if (hourly === undefined) throw new Error(`tools/cost/prices.json has no ${region} price for ${type} (the ${role} hosts): add it from ${table.sources.ec2}`);
    const stopped = role === "sandbox";
    line({
      item: `EC2 ${role} (${type})`,
      quantity: stopped ? 0 : count,
      unit: "instance-month",
      unitPrice: cents(hourly * hours),
      source: "ec2",
      ...(stopped ? { note: `stopped between bakes (USD ${hourly} an hour while baking)` } : {}),
    });
  }

  const rootGiB = all("aws_instance").reduce((sum, i) => sum + Number((i.root_block_device as Record<string, unknown> | undefined)?.volume_size ?? 8), 0);
  const chainGiB = all("aws_ebs_volume").reduce((sum, v) => sum + Number(v.size ?? 0), 0);
  line({ item: "EBS gp3 root volumes", quantity: rootGiB, unit: "GiB-month", unitPrice: prices.ebsGp3PerGiBMonth, source: "ebs" });
  line({ item: "EBS gp3 chain-database volumes", quantity: chainGiB, unit: "GiB-month", unitPrice: prices.ebsGp3PerGiBMonth, source: "ebs" });

  const interfaceAzs = all("aws_vpc_endpoint")
    .filter((e) => e.vpc_endpoint_type === "Interface")
    .reduce((sum, e) => sum + ((e.subnet_ids as unknown[] | undefined)?.length ?? 0), 0);
  line({ item: "VPC interface endpoints (per endpoint and AZ)", quantity: interfaceAzs, unit: "endpoint-AZ-month", unitPrice: cents(prices.interfaceEndpointPerAzHour * hours), source: "privatelink" });
  line({ item: "Public IPv4 addresses (Elastic IPs)", quantity: all("aws_eip").length, unit: "address-month", unitPrice: cents(prices.publicIpv4PerHour * hours), source: "publicIpv4" });
  line({ item: "KMS customer managed keys", quantity: all("aws_kms_key").length, unit: "key-month", unitPrice: prices.kmsKeyPerMonth, source: "kms", note: "+1 each after the first and second yearly rotation" });
  line({ item: "Secrets Manager secrets", quantity: all("aws_secretsmanager_secret").length, unit: "secret-month", unitPrice: prices.secretPerMonth, source: "secretsManager" });
  line({ item: "CloudWatch metric alarms", quantity: all("aws_cloudwatch_metric_alarm").length, unit: "alarm-month", unitPrice: prices.alarmPerMonth, source: "cloudwatch" });

  const usageBased: UsagePrice[] = [
    { item: "data through the interface endpoints", unitPrice: prices.usage.endpointDataPerGB, unit: "GB", source: "privatelink" },
    { item: "log ingestion (VPC flow logs, the audit log)", unitPrice: prices.usage.logsIngestionPerGB, unit: "GB", source: "cloudwatch" },
    { item: "data out to the internet (relays serving peers)", unitPrice: prices.usage.internetDataOutPerGB, unit: "GB", source: "dataTransfer" },
  ];
  return { region, currency: "USD", asOf: prices.asOf, lines, total: cents(lines.reduce((sum, l) => sum + l.monthly, 0)), usageBased };
}

export function formatPoolCost(cost: PoolCost, table: PriceTable): string {
  const usd = (n: number) => n.toFixed(2);
  // Unit prices below a dollar keep their third decimal (gp3 is 0.088 a GiB-month in eu-west-1).
  const unit = (n: number) => (n < 1 ? String(Number(n.toFixed(4))) : usd(n));
  const rows = cost.lines.map((l) => [l.item, `${l.quantity} ${l.unit}`, unit(l.unitPrice), usd(l.monthly), l.source, l.note ?? ""]);
  const header = ["line", "quantity", "unit USD", "USD/month", "source", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 2 || i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  const out = [`monthly on-demand cost in ${cost.region} (prices as of ${cost.asOf})`, "", fmt(header), ...rows.map(fmt)];
  out.push(fmt(["total", "", "", usd(cost.total), "", ""]), "", "billed by use, not in the total:");
  for (const u of cost.usageBased) out.push(`  ${u.item}: USD ${unit(u.unitPrice)} per ${u.unit} (${u.source})`);
  out.push("", "sources:");
  for (const key of [...new Set([...cost.lines.map((l) => l.source), ...cost.usageBased.map((u) => u.source)])]) out.push(`  ${key}: ${table.sources[key]}`);
  out.push("", table.note);
  return `${out.join("\n")}\n`;
}
