/**
 * `pool-ops hosts trust`: record the host keys of the selected hosts in the known_hosts file, on first use and only
 * when asked. Each line carries the host's inventory name, EC2 instance id and pool (known-hosts.ts), so the key is
 * later accepted for that host only, at that address. Before recording, each new key is compared with the instance's
 * EC2 console output (cloud-init prints the host keys there): a key the console contradicts is refused; when AWS
 * cannot be asked the line says so ("not confirmed") and the key is recorded as plain trust on first use.
 *
 * Keys already known and matching are left alone; a *changed* key, or one that contradicts the recorded identity
 * (another host's key, another address), is refused here too (a rebuilt host's old line must be removed on purpose).
 * Nodes are reached through the bastion, whose key must be trusted first: the bastion is always included, and handled
 * alone before any node.
 */
import { Command } from "commander";
import { checkKeyAgainstConsole, type ConsoleKeyCheck } from "../aws/console-key-check";
import { exitStatus, opsAction, type OpsContext } from "../context";
import type { Connection } from "../remote/connection";
import type { Fleet } from "../remote/fleet";
import type { HostKeyVerdict } from "../remote/host-keys";
import type { InventoryHost } from "../remote/inventory";
import { GroupResult, OpsError, type Result } from "../remote/result";

type Recorded = Extract<HostKeyVerdict, { kind: "recorded" }>;

function describeConsole(check: ConsoleKeyCheck | undefined): string {
  if (!check) return "";
  if (check.kind === "confirmed") return "confirmed by the EC2 console output";
  if (check.kind === "unavailable") return `NOT confirmed through EC2 (${check.reason})`;
  return `contradicted by the EC2 console output (${check.shown.join(", ")})`;
}

async function trustGroup(ctx: OpsContext, fleet: Fleet, hosts: readonly InventoryHost[], fresh: Map<string, { c: Connection; v: Recorded }>): Promise<GroupResult> {
  const checks = new Map<string, ConsoleKeyCheck>();
  const verdicts = new Map<string, HostKeyVerdict>();
  const instanceOf = new Map(hosts.map((h) => [h.name, h.instanceId]));
  const group = await ctx.group(hosts, undefined, {
    fleet,
    note: (r) => {
      const v = verdicts.get(r.host);
      if (!v) return "";
      if (v.kind !== "recorded") return `${v.fingerprint} (already trusted)`;
      return `${v.fingerprint} ${ctx.dryRun || r.status === "failed" ? "(new, not recorded)" : "(new, recorded)"}; ${describeConsole(checks.get(r.host))}`;
    },
  });
  return group.each(async (connection) => {
    try {
      await connection.open();
    } finally {
      if (connection.hostKeyVerdict) verdicts.set(connection.name, connection.hostKeyVerdict);
    }
    const v = verdicts.get(connection.name);
    if (v?.kind !== "recorded") return { status: "ok", detail: { fingerprint: v?.fingerprint, verdict: v?.kind } };
    const check = await checkKeyAgainstConsole(ctx.awsTarget, instanceOf.get(connection.name)!, v.key);
    checks.set(connection.name, check);
    if (check.kind === "contradicted") {
      throw new OpsError(
        connection.name,
        "confirm host key",
        `${connection.name} offered ${v.keyType} ${v.fingerprint}, but the EC2 console output of ${instanceOf.get(connection.name)} shows ${check.shown.join(", ")}: not recorded`,
        `something other than ${connection.name} may be answering at ${connection.target.address}; check the inventory and the instance before trusting it`,
        "failed",
      );
    }
    fresh.set(connection.name, { c: connection, v });
    return { status: ctx.dryRun ? "ok" : "changed", detail: { fingerprint: v.fingerprint, verdict: v.kind, console: check.kind, ...(check.kind === "unavailable" ? { consoleReason: check.reason } : {}) } };
  });
}

export function hostsCommand(): Command {
  const hosts = new Command("hosts").description("host keys of the pool's hosts");
  hosts
    .command("trust")
    .description("record the host keys of the selected hosts (trust on first use, checked against EC2 console output); --dry-run shows them only")
    .action(
      opsAction(async (ctx) => {
        const inventory = await ctx.inventory();
        const selected = await ctx.selectedHosts();
        const nodes = selected.filter((h) => h.name !== inventory.bastion.name);
        const policy = await ctx.hostKeyPolicy({ trustOnFirstUse: true });
        const fleet = await ctx.fleet({ hostKeys: policy });
        const fresh = new Map<string, { c: Connection; v: Recorded }>();
        const started = Date.now();
        // The bastion first, on its own: every node is reached through it, so a bastion that fails leaves them untouched.
        const bastion = await trustGroup(ctx, fleet, [inventory.bastion], fresh);
        let results: Result[] = [...bastion.results];
        if (nodes.length > 0) {
          if (bastion.ok) results = [...results, ...(await trustGroup(ctx, fleet, nodes, fresh)).results];
          else {
            const why = bastion.results[0]?.error?.message ?? "not trusted";
            results = [...results, ...nodes.map((h): Result => ({ host: h.name, status: "unreachable", exitCode: null, stdout: "", stderr: "", durationMs: 0, error: { step: "connect", message: `not reached: the bastion was not trusted (${why})`, remedy: "trust the bastion first" } }))];
          }
        }
        const result = new GroupResult(results, Date.now() - started);
        const recorded = [...fresh.values()];
        if (!ctx.dryRun) policy.record(recorded.map(({ c, v }) => ({ target: c.target, keyType: v.keyType, key: v.key })));
        if (ctx.out.json) ctx.out.data({ knownHosts: ctx.knownHostsFile, ...result.toJSON() });
        else {
          ctx.out.summary(result, [{ title: "FINGERPRINT", value: (r) => String(r.detail?.fingerprint ?? "-") }]);
          ctx.out.info(ctx.dryRun ? "dry run: nothing recorded" : `${recorded.length} key${recorded.length === 1 ? "" : "s"} added to ${ctx.knownHostsFile}`);
          const unconfirmed = result.results.filter((r) => r.detail?.console === "unavailable").map((r) => r.host);
          if (unconfirmed.length > 0) ctx.out.warn(`pool-ops: hosts trust: not confirmed through EC2 (compare the fingerprints with each instance's console output yourself): ${unconfirmed.join(", ")}`);
        }
        if (!ctx.dryRun) await ctx.audit(result, { knownHosts: ctx.knownHostsFile, recorded: recorded.map(({ c, v }) => `${c.name} ${v.fingerprint}`) });
        return exitStatus(result);
      }),
    );
  return hosts;
}
