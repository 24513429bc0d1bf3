/**
 * `pool-ops hosts trust`: record the host keys of the selected hosts in the known_hosts file, on first use and only
 * when asked. Keys already known and matching are left alone; a *changed* key is refused here too (a rebuilt host's
 * old line must be removed on purpose). Nodes are reached through the bastion, whose key must be trusted first: the
 * bastion is always included.
 */
import { Command } from "commander";
import { exitStatus, opsAction } from "../context";
import type { Connection } from "../remote/connection";
import type { HostKeyVerdict } from "../remote/host-keys";

export function hostsCommand(): Command {
  const hosts = new Command("hosts").description("host keys of the pool's hosts");
  hosts
    .command("trust")
    .description("record the host keys of the selected hosts (trust on first use); --dry-run shows them only")
    .action(
      opsAction(async (ctx) => {
        const inventory = await ctx.inventory();
        const selected = await ctx.selectedHosts();
        const targets = selected.some((h) => h.name === inventory.bastion.name) ? selected : [inventory.bastion, ...selected];
        const policy = await ctx.hostKeyPolicy({ trustOnFirstUse: true });
        const fleet = await ctx.fleet({ hostKeys: policy });
        const verdicts = new Map<string, HostKeyVerdict>();
        const recordFrom = (c: Connection) => {
          const v = c.hostKeyVerdict;
          if (v) verdicts.set(c.name, v);
        };
        // The bastion first, on its own: its key must be recorded before nodes are reached through it.
        const bastion = fleet.bastion;
        const group = await ctx.group(targets, undefined, {
          fleet,
          note: (r) => {
            const v = verdicts.get(r.host);
            return v ? `${v.fingerprint} ${v.kind === "recorded" ? (ctx.dryRun ? "(new, not recorded: dry run)" : "(new, recorded)") : "(already trusted)"}` : "";
          },
        });
        const result = await group.each(async (connection) => {
          if (connection !== bastion) await bastion.open().catch(() => undefined);
          try {
            await connection.open();
          } finally {
            recordFrom(connection);
          }
          const v = verdicts.get(connection.name);
          return { status: v?.kind === "recorded" && !ctx.dryRun ? "changed" : "ok", detail: { fingerprint: v?.fingerprint, verdict: v?.kind } };
        });
        const fresh = fleet
          .connections(targets)
          .map((c) => ({ c, v: verdicts.get(c.name) }))
          .filter((x): x is { c: Connection; v: Extract<HostKeyVerdict, { kind: "recorded" }> } => x.v?.kind === "recorded");
        if (!ctx.dryRun) policy.record(fresh.map(({ c, v }) => ({ target: c.target, keyType: v.keyType, key: v.key })));
        if (ctx.out.json) ctx.out.data({ knownHosts: ctx.knownHostsFile, ...result.toJSON() });
        else {
          ctx.out.summary(result, [{ title: "FINGERPRINT", value: (r) => String(r.detail?.fingerprint ?? "-") }]);
          ctx.out.info(ctx.dryRun ? "dry run: nothing recorded" : `${fresh.length} key${fresh.length === 1 ? "" : "s"} added to ${ctx.knownHostsFile}`);
        }
        if (!ctx.dryRun) await ctx.audit(result, { knownHosts: ctx.knownHostsFile, recorded: fresh.map(({ c, v }) => `${c.name} ${v.fingerprint}`) });
        return exitStatus(result);
      }),
    );
  return hosts;
}
