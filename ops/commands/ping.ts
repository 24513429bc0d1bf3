/** `pool-ops ping`: connect to every selected host (nodes through the bastion) and run `true`, with times. */
import { Command } from "commander";
import { exitStatus, opsAction } from "../context";
import { formatDuration } from "../output";

export function pingCommand(): Command {
  return new Command("ping")
    .description("connect to the selected hosts (nodes through the bastion), run `true`, report connect and command times")
    .action(
      opsAction(async (ctx) => {
        const hosts = await ctx.selectedHosts();
        const group = await ctx.group(hosts, undefined, {
          note: (r) => (r.detail ? `connect ${formatDuration(Number(r.detail.connectMs))}, true ${formatDuration(Number(r.detail.commandMs))}` : ""),
        });
        const result = await group.each(async (connection) => {
          const t0 = Date.now();
          await connection.open();
          const t1 = Date.now();
          // No sudo: ping proves reachability and login, not privileges.
          const run = await connection.runChecked("true", { sudo: false, step: "run true" });
          return { exitCode: run.exitCode, detail: { connectMs: t1 - t0, commandMs: Date.now() - t1 } };
        });
        if (ctx.out.json) ctx.out.data(result);
        else
          ctx.out.summary(result, [
            { title: "CONNECT", value: (r) => (r.detail ? formatDuration(Number(r.detail.connectMs)) : "-") },
            { title: "TRUE", value: (r) => (r.detail ? formatDuration(Number(r.detail.commandMs)) : "-") },
          ]);
        return exitStatus(result);
      }),
    );
}
