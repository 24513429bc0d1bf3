/** `pool-ops inventory`: the hosts pool-ops would reach, from the inventory file or EC2 (no SSH). */
import { Command } from "commander";
import { opsAction } from "../context";

export function inventoryCommand(): Command {
  return new Command("inventory")
    .description("print the inventory (selected hosts with role, addresses, instance id)")
    .action(
      opsAction(async (ctx) => {
        const inventory = await ctx.inventory();
        const hosts = await ctx.selectedHosts();
        if (ctx.out.json) {
          ctx.out.data({ ...inventory, selected: hosts.map((h) => h.name) });
          return 0;
        }
        ctx.out.info(`pool ${inventory.pool} (${inventory.network}, ${inventory.region}), bastion ${inventory.bastion.publicIp}`);
        const rows = hosts.map((h) => [h.name, h.role, h.privateIp, h.publicIp ?? "-", h.instanceId, h.availabilityZone ?? "-", inventory.hostKeys?.[h.name] ? "pinned" : ""]);
        const header = ["HOST", "ROLE", "PRIVATE IP", "PUBLIC IP", "INSTANCE", "AZ", "HOST KEY"];
        const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => (r[i] ?? "").length)));
        for (const row of [header, ...rows]) ctx.out.info(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd());
        return 0;
      }),
    );
}
