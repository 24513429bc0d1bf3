/** Host selection: `--hosts relay-1,producer-2` and/or `--role relay,producer` (both given: hosts of those roles). */
import { allHosts, HOST_ROLES, type Inventory, type InventoryHost } from "./inventory";
import { OpsError } from "./result";

export interface HostSelection {
  readonly hosts?: readonly string[] | undefined;
  readonly roles?: readonly string[] | undefined;
}

/** Splits repeated and comma-separated option values: ["relay-1,relay-2", "producer-1"] → three names. */
export function splitList(values: string | readonly string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const list = (typeof values === "string" ? [values] : values).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/** The selected hosts in inventory order (bastion first). No selection: every host. Unknown names are an error. */
export function selectHosts(inventory: Inventory, selection: HostSelection = {}): InventoryHost[] {
  const every = allHosts(inventory);
  const names = new Set(every.map((h) => h.name));
  const unknownHosts = (selection.hosts ?? []).filter((n) => !names.has(n));
  if (unknownHosts.length > 0) {
    throw new OpsError(unknownHosts.join(","), "select hosts", `no host ${unknownHosts.join(", ")} in the inventory`, `choose among: ${[...names].join(", ")}`);
  }
  const unknownRoles = (selection.roles ?? []).filter((r) => !(HOST_ROLES as readonly string[]).includes(r));
  if (unknownRoles.length > 0) {
    throw new OpsError("-", "select hosts", `unknown role ${unknownRoles.join(", ")}`, `roles are: ${HOST_ROLES.join(", ")}`);
  }
  const selected = every.filter(
    (h) => (!selection.hosts || selection.hosts.includes(h.name)) && (!selection.roles || selection.roles.includes(h.role)),
  );
  if (selected.length === 0) {
    throw new OpsError("-", "select hosts", "the selection matches no host", `hosts: ${[...names].join(", ")}; roles present: ${[...new Set(every.map((h) => h.role))].join(", ")}`);
  }
  return selected;
}
