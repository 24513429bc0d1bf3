/** What must hold before a rollout takes a node down, and what it does on the host after a volume grew. */
import type { OpsContext } from "../context";
import { nodeHealth } from "../pool/health";
import { forgingState } from "../pool/producer-role";
import type { Connection } from "../remote/connection";
import type { InventoryHost } from "../remote/inventory";
import { OpsError } from "../remote/result";
import { shellQuote } from "../remote/shell";

/** A relay goes down only while every other relay serves; a producer only while it does not forge. */
export async function guardBeforeTakingDown(ctx: OpsContext, host: Pick<InventoryHost, "name" | "role">, relays: readonly InventoryHost[], what: string): Promise<void> {
  const fleet = await ctx.fleet();
  if (host.role === "relay") {
    const others = relays.filter((r) => r.name !== host.name);
    const health = await Promise.all(others.map(async (r) => ({ name: r.name, health: await nodeHealth(ctx.config, fleet.connection(r.name)) })));
    const down = health.filter((h) => !h.health.healthy);
    if (down.length > 0) {
      throw new OpsError(host.name, "relay guard", `${what} ${host.name} now would leave fewer than ${others.length} relays serving: ${down.map((d) => `${d.name} (${d.health.problem})`).join(", ")}`, "bring those relays back first, then run the rollout again");
    }
  } else {
    const forging = await forgingState(ctx.config, fleet.connection(host.name)).catch(() => undefined);
    if (forging === 1) throw new OpsError(host.name, "producer guard", `${host.name} forges: it is not taken down while it leads`, "promote the other producer first (the rollout does this in order; check pool-ops leader)");
  }
}

/**
 * After EBS grew a volume (ModifyVolume, online), the filesystem on it grows too, while mounted: the chain volume's
 * ext4 spans the whole device (stacks/boot/mount-chain-volume.sh), so resize2fs alone; the root's sits in a partition,
 * so growpart (cloud-guest-utils, in Debian's EC2 images) first. A root that is not a partition of a disk says so and
 * is left alone. Prints what each filesystem's size is afterwards.
 */
export async function growFilesystems(c: Connection, chainMount: string, which: readonly ("root" | "chain")[]): Promise<string> {
  const q = shellQuote;
  const lines = ["set -eu"];
  if (which.includes("chain")) {
    lines.push(`dev=$(findmnt -n -o SOURCE --target ${q(chainMount)})`, `resize2fs "$dev" >/dev/null 2>&1 || resize2fs "$dev"`, `echo "chain $(df -h --output=size ${q(chainMount)} | tail -1 | tr -d ' ')"`);
  }
  if (which.includes("root")) {
    lines.push(
      `src=$(findmnt -n -o SOURCE /)`,
      `part=/sys/class/block/$(basename "$src")/partition`,
      `if [ -b "$src" ] && [ -r "$part" ]; then`,
      `  disk=/dev/$(lsblk -no PKNAME "$src")`,
      // growpart exits 1 with NOCHANGE when the partition already fills the disk.
      `  growpart "$disk" "$(cat "$part")" || [ $? -eq 1 ]`,
      `  resize2fs "$src" >/dev/null 2>&1 || resize2fs "$src"`,
      `  echo "root $(df -h --output=size / | tail -1 | tr -d ' ')"`,
      `else echo "root: $src is not a disk partition: not grown"; fi`,
    );
  }
  const r = await c.runChecked(lines.join("\n"), { step: "grow filesystems", label: "grow filesystems", remedy: "grow it by hand (resize2fs; growpart for the root), then run the rollout again" });
  return r.stdout.toString().trim().split("\n").join(", ");
}
