/**
 * `pool-ops run --role relay -- 'uptime'`: a shell command on the selected hosts (in parallel, bounded by
 * --concurrency; `--serial` or `--rolling` otherwise), through `sudo -n` when the pool config says so, bounded
 * server-side by ssh.commandTimeoutSeconds. Audited: an arbitrary command may change a host.
 */
import { Command, Option } from "commander";
import { exitStatus, opsAction } from "../context";
import type { Strategy } from "../remote/group";
import { GroupResult, type Result } from "../remote/result";

export function runCommand(): Command {
  return new Command("run")
    .description("run a shell command on the selected hosts")
    .argument("<command...>", "the command (put it after --, quoted as one argument or as words)")
    .option("--sudo", "run through sudo -n (default: the pool config's ssh.sudo)")
    .option("--no-sudo", "run as the login user")
    .addOption(new Option("--serial", "one host after another, all of them").conflicts("rolling"))
    .option("--rolling", "one host at a time, stop at the first failure")
    .option("--timeout <seconds>", "server-side time limit for the command", (v) => Number.parseInt(v, 10))
    .action(
      opsAction(async (ctx, words: string[], options: { sudo?: boolean; serial?: boolean; rolling?: boolean; timeout?: number }) => {
        const command = words.join(" ");
        const hosts = await ctx.selectedHosts();
        const strategy: Strategy | undefined = options.rolling ? { kind: "rolling" } : options.serial ? { kind: "serial" } : undefined;
        if (ctx.dryRun) {
          const planned = new GroupResult(
            hosts.map((h): Result => ({ host: h.name, status: "skipped", exitCode: null, stdout: "", stderr: "", durationMs: 0, detail: { wouldRun: command } })),
            0,
          );
          if (ctx.out.json) ctx.out.data({ dryRun: true, command, hosts: hosts.map((h) => h.name) });
          else ctx.out.info(`dry run: would run \`${command}\` on ${hosts.map((h) => h.name).join(", ")}`);
          await ctx.audit(planned, { command }, { result: "aborted" });
          return 0;
        }
        const group = await ctx.group(hosts, strategy);
        const result = await group.run(command, { sudo: options.sudo, timeoutSeconds: options.timeout, step: "run" });
        if (ctx.out.json) ctx.out.data(result);
        else {
          for (const r of result.results) {
            const text = [r.stdout.trimEnd(), r.stderr.trimEnd()].filter(Boolean).join("\n");
            if (text) ctx.out.info(`\n[${r.host}]\n${text.replace(/^/gm, "  ")}`);
          }
          ctx.out.summary(result);
        }
        await ctx.audit(result, { command });
        return exitStatus(result);
      }),
    );
}
