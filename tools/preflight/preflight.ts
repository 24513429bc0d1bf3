/**
 * The preflight `npm run plan` runs before anything is created: does the account have room for the pool? A first
 * deploy of the default pool needs six Elastic IPs (seven with the sandbox) where a region's default quota is five,
 * and sixteen On-Demand Standard vCPUs where a new account's quota may be lower; Terraform would find out half-way
 * through an apply (AddressLimitExceeded, VcpuLimitExceeded), with part of the pool made. The preflight reads the
 * quotas (Service Quotas), what the account already uses outside the pool, and the base image, and refuses with the
 * numbers and the quota-increase requests to make.
 *
 * Quotas: https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html (Elastic IPs, L-0263D0A3) and
 * https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html (vCPUs per family, L-1216C47A).
 */
import type { AccountReader } from "./account";
import type { PoolRequirements } from "./requirements";

export const ELASTIC_IP_QUOTA = { serviceCode: "ec2", quotaCode: "L-0263D0A3", name: "EC2-VPC Elastic IPs" } as const;
export const STANDARD_VCPU_QUOTA = {
  serviceCode: "ec2",
  quotaCode: "L-1216C47A",
  name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances, vCPUs",
} as const;

/** Families the Standard On-Demand vCPU quota covers (the first letter of the type). */
const STANDARD_FAMILIES = /^[acdhimrtz]/;

export interface QuotaCheck {
  readonly quotaCode: string;
  readonly name: string;
  /** What the pool needs. */
  readonly needed: number;
  /** Already used in the region, outside the pool. */
  readonly inUse: number;
  readonly quota: number | undefined;
  readonly quotaSource: "applied" | "default" | "unknown";
  readonly ok: boolean;
  /** `aws service-quotas request-service-quota-increase …` when short. */
  readonly request?: string;
}

export interface PreflightReport {
  readonly region: string;
  readonly quotas: readonly QuotaCheck[];
  readonly image: { readonly description: string; readonly ok: boolean };
  /** What the check could not cover (types outside the Standard quota). */
  readonly notes: readonly string[];
  readonly ok: boolean;
}

function increaseRequest(region: string, serviceCode: string, quotaCode: string, desired: number): string {
  return `aws service-quotas request-service-quota-increase --region ${region} --service-code ${serviceCode} --quota-code ${quotaCode} --desired-value ${desired}`;
}

async function quotaCheck(
  reader: AccountReader,
  region: string,
  quota: { serviceCode: string; quotaCode: string; name: string },
  needed: number,
  inUse: number,
): Promise<QuotaCheck> {
  const value = await reader.quota(quota.serviceCode, quota.quotaCode);
  const ok = value !== undefined && needed + inUse <= value.value;
  return {
    quotaCode: quota.quotaCode,
    name: quota.name,
    needed,
    inUse,
    quota: value?.value,
    quotaSource: value?.source ?? "unknown",
    ok,
    ...(ok ? {} : { request: increaseRequest(region, quota.serviceCode, quota.quotaCode, needed + inUse) }),
  };
}

export async function preflight(requirements: PoolRequirements, reader: AccountReader): Promise<PreflightReport> {
  const { region, poolName } = requirements;
  const notes: string[] = [];
  const planned = requirements.instances.map((i) => i.instanceType);
  const running = await reader.runningInstanceTypes(poolName);
  const vcpus = await reader.vcpus([...planned, ...running]);
  const standardVcpus = (types: readonly string[], whose: string) =>
    types.reduce((sum, type) => {
      if (!STANDARD_FAMILIES.test(type)) {
        notes.push(`${type} (${whose}) counts against its own family's vCPU quota, not checked here`);
        return sum;
      }
      const n = vcpus.get(type);
      if (n === undefined) throw new Error(`EC2 reports no vCPU count for ${type} in ${region}: is the instance type offered there?`);
      return sum + n;
    }, 0);
  const quotas = [
    await quotaCheck(reader, region, ELASTIC_IP_QUOTA, requirements.elasticIps, await reader.elasticIpsInUse(poolName)),
    await quotaCheck(reader, region, STANDARD_VCPU_QUOTA, standardVcpus(planned, "the pool"), standardVcpus(running, "running in the account")),
  ];
  const source = requirements.image;
  const found = await reader.image(source);
  const what = "id" in source ? source.id : `the newest ${source.lookup.namePattern} (${source.lookup.architecture}) of ${source.lookup.owners.join(", ")}`;
  const image = !found
    ? { description: `base image ${what}: not found in ${region} (wrong id or region, or the image is not shared with this account)`, ok: false }
    : found.state !== "available"
      ? { description: `base image ${what}: ${found.id} is ${found.state}, not available`, ok: false }
      : { description: `base image ${what}: ${found.id} available`, ok: true };
  return { region, quotas, image, notes, ok: quotas.every((q) => q.ok) && image.ok };
}

export function formatPreflight(report: PreflightReport): string {
  const lines = [`preflight: the account's quotas and the base image in ${report.region}`];
  for (const q of report.quotas) {
    const quota = q.quota === undefined ? "no quota found in Service Quotas" : `quota ${q.quota}${q.quotaSource === "default" ? " (AWS default)" : ""}`;
    const verdict = q.ok ? "ok" : q.quota === undefined ? "cannot check" : `short by ${q.needed + q.inUse - q.quota}`;
    lines.push(`  ${q.name} (${q.quotaCode}): the pool needs ${q.needed}, ${q.inUse} in use outside the pool, ${quota} — ${verdict}`);
  }
  lines.push(`  ${report.image.description}`);
  for (const note of report.notes) lines.push(`  note: ${note}`);
  const requests = report.quotas.filter((q) => q.request);
  if (requests.length > 0) {
    lines.push("refused: nothing was created. Ask AWS to raise the quota first (Service Quotas; small increases are often granted in minutes):");
    for (const q of requests) lines.push(`  ${q.request}`);
  } else if (!report.image.ok) {
    lines.push("refused: nothing was created. Fix the pool config's `ami` first.");
  }
  return `${lines.join("\n")}\n`;
}
