/**
 * The inventory: which hosts the pool has and how to reach them. The Terraform stacks emit it as the output
 * `inventory`; pool-ops reads it from `terraform output -json`, from `cdktf output --outputs-file`, or builds the same
 * from EC2 tags (`--from-aws`). pool-ops never imports stack classes (data flows one way).
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { formatConfigIssues } from "../../config/load";
import { poolNameSchema, type PoolConfig } from "../../config/schema";

const nonEmpty = z.string().min(1);
/** Terraform prints absent addresses as null or "": both mean "none". */
const optionalIp = z
  .union([z.ipv4(), z.literal(""), z.null()])
  .optional()
  .transform((v) => (v ? v : undefined));

export const HOST_ROLES = ["relay", "producer", "bastion", "monitoring", "sandbox"] as const;
export type InventoryRole = (typeof HOST_ROLES)[number];

const hostName = z.string().regex(/^[a-z][a-z0-9-]*$/, { error: "expected a host name such as relay-1" });

const InventoryHostSchema = z.object({
  name: hostName,
  role: z.enum(HOST_ROLES),
  privateIp: z.ipv4({ error: "expected an IPv4 address" }),
  publicIp: optionalIp,
  instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, { error: "expected an EC2 instance id such as i-0abc12345def67890" }),
  availabilityZone: z.string().optional(),
});

export const InventorySchema = z
  .object({
    /**
     * The pool's name, validated as the pool config validates it: it names journal files and state on the operator's
     * machine (`rotate-kes-<pool>.json`), so `../` or `/` in it would write outside the state directory.
     */
    pool: poolNameSchema,
    network: z.enum(["mainnet", "preprod", "preview"]),
    region: nonEmpty,
    bastion: InventoryHostSchema.extend({
      role: z.literal("bastion"),
      publicIp: z.ipv4({ error: "expected the bastion's public IPv4 address" }),
    }),
    hosts: z.array(InventoryHostSchema.extend({ role: z.enum(["relay", "producer", "monitoring", "sandbox"]) })),
    secrets: z.record(z.string(), z.string()).default({}),
    parameters: z.record(z.string(), z.string()).default({}),
    /** Pinned host key fingerprints (`SHA256:…`), by host name. */
    hostKeys: z.record(hostName, z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, { error: "expected an OpenSSH fingerprint SHA256:…" })).optional(),
    bastionPort: z.number().int().min(1).max(65535).optional(),
  })
  .superRefine((inv, ctx) => {
    const seen = new Set<string>([inv.bastion.name]);
    inv.hosts.forEach((h, i) => {
      if (seen.has(h.name)) ctx.addIssue({ code: "custom", path: ["hosts", i, "name"], message: `duplicate host name ${h.name}`, input: h.name });
      seen.add(h.name);
    });
  });

export type Inventory = z.output<typeof InventorySchema>;
export type InventoryHost = z.output<typeof InventoryHostSchema>;

export class InventoryError extends Error {
  override name = "InventoryError";
}

/**
 * Finds the inventory value in the shapes Terraform tooling prints:
 * `terraform output -json` → `{inventory: {value, type, sensitive}}`; `cdktf output --outputs-file` →
 * `{<stack>: {inventory: {…}}}`; or the bare inventory object.
 */
export function unwrapInventoryDocument(document: unknown): unknown {
  if (typeof document !== "object" || document === null) return document;
  const doc = document as Record<string, unknown>;
  if ("pool" in doc && "hosts" in doc) return doc;
  const inventory = doc.inventory;
  if (typeof inventory === "object" && inventory !== null) {
    return "value" in inventory && "sensitive" in inventory ? (inventory as { value: unknown }).value : inventory;
  }
  const stacks = Object.values(doc).filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null && "inventory" in v);
  if (stacks.length === 1) return unwrapInventoryDocument(stacks[0]);
  if (stacks.length > 1) throw new InventoryError(`several stacks have an \`inventory\` output: ${Object.keys(doc).join(", ")}`);
  return doc;
}

export function parseInventory(document: unknown, source: string): Inventory {
  let value: unknown;
  try {
    value = unwrapInventoryDocument(document);
  } catch (error) {
    throw new InventoryError(`${source}: ${(error as Error).message}`);
  }
  const result = InventorySchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    const problems = formatConfigIssues(result.error.issues).map((p) => `  - ${p}`);
    throw new InventoryError(
      `${source}: not a pool-ops inventory (expected \`terraform output -json\`, \`cdktf output --outputs-file\` or the inventory object)\n${problems.join("\n")}`,
    );
  }
  return result.data;
}

export function loadInventoryFile(path: string): Inventory {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InventoryError(`${path}: cannot read the inventory: ${code === "ENOENT" ? "file not found" : (error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new InventoryError(`${path}: not JSON (${(error as Error).message}); write it with \`terraform output -json > ${path}\``);
  }
  return parseInventory(document, path);
}

/**
 * The inventory describes the pool the config describes: same pool name, network and region. Otherwise a command
 * would act on one pool's hosts with another pool's settings (its network's genesis, its secrets, its region).
 */
export function checkInventoryMatchesConfig(inventory: Inventory, config: Pick<PoolConfig, "name" | "network" | "region">, source: string, configSource: string): void {
  const problems = (
    [
      ["pool", inventory.pool, config.name, "name"],
      ["network", inventory.network, config.network, "network"],
      ["region", inventory.region, config.region, "region"],
    ] as const
  )
    .filter(([, a, b]) => a !== b)
    .map(([field, a, b, configField]) => `  - ${field}: the inventory says ${JSON.stringify(a)}, the pool config (${configField}) says ${JSON.stringify(b)}`);
  if (problems.length > 0) {
    throw new InventoryError(`${source} does not describe the pool of ${configSource}:\n${problems.join("\n")}\n  give the inventory of this pool (--inventory), or its config (--config / POOL_CONFIG)`);
  }
}

/** Every host, bastion first, in inventory order. */
export function allHosts(inventory: Inventory): InventoryHost[] {
  return [inventory.bastion, ...inventory.hosts];
}

/**
 * Records in an inventory file that a host is now another instance (an image rollout replaced it), in whatever shape
 * the file has, replaced whole by rename. The file then says what `terraform output` would now say, so the next
 * command's host-key check is bound to the new instance, not refused against the old one.
 */
export function recordReplacedInstance(path: string, hostName: string, instanceId: string): void {
  const document = JSON.parse(readFileSync(path, "utf8")) as unknown;
  const value = unwrapInventoryDocument(document) as { hosts?: { name?: string; instanceId?: string }[] };
  const host = value.hosts?.find((h) => h.name === hostName);
  if (!host) throw new InventoryError(`${path}: no host ${hostName} to record its new instance ${instanceId} for`);
  host.instanceId = instanceId;
  parseInventory(document, path);
  const tmp = `${path}.pool-ops-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(document, null, 2)}\n`);
  renameSync(tmp, path);
}

/**
 * Records in an inventory file that a host joined the pool (a relay a rollout created) or left it (one it destroyed),
 * in whatever shape the file has, replaced whole by rename: the file says what `terraform output` says once the
 * rollout has settled the stack, so the commands in between (and the rollout's own) reach the pool as it now is.
 */
export function recordHostMembership(path: string, change: { readonly joined: InventoryHost } | { readonly left: string }): void {
  const document = JSON.parse(readFileSync(path, "utf8")) as unknown;
  const value = unwrapInventoryDocument(document) as { hosts?: Record<string, unknown>[] };
  const hosts = value.hosts ?? [];
  if ("joined" in change) {
    const { joined } = change;
    const entry = { name: joined.name, role: joined.role, privateIp: joined.privateIp, publicIp: joined.publicIp ?? "", instanceId: joined.instanceId, availabilityZone: joined.availabilityZone ?? "" };
    const at = hosts.findIndex((h) => h.name === joined.name);
    // A new relay goes after the last relay, as the stack's output lists it.
    const lastRelay = hosts.map((h) => h.role).lastIndexOf("relay");
    if (at >= 0) hosts[at] = entry;
    else hosts.splice(lastRelay + 1, 0, entry);
  } else {
    const at = hosts.findIndex((h) => h.name === change.left);
    if (at < 0) return;
    hosts.splice(at, 1);
  }
  value.hosts = hosts;
  parseInventory(document, path);
  const tmp = `${path}.pool-ops-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(document, null, 2)}\n`);
  renameSync(tmp, path);
}
