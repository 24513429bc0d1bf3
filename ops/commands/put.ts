/**
 * `pool-ops put LOCAL REMOTE`: the same file to the selected hosts, atomically (staged in a root-only directory beside
 * the target, checked, fsync, owner/mode, previous version kept as REMOTE.bak, rename; no link on the path followed). Hosts whose file already matches are `ok`, the
 * others `changed`. `--dry-run` reports which hosts would change without writing. Audited.
 */
import { Command } from "commander";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { exitStatus, opsAction } from "../context";
import { formatMode } from "../remote/files";
import { OpsError } from "../remote/result";

export function putCommand(): Command {
  return new Command("put")
    .description("copy a local file to the selected hosts atomically (previous version kept as .bak)")
    .argument("<local>", "local file")
    .argument("<remote>", "absolute path on the hosts")
    .option("--owner <user>", "owner of the remote file (default: the previous file's, else root)")
    .option("--group <group>", "group of the remote file")
    .option("--mode <octal>", "mode such as 0640 (default: the previous file's, else 0644)")
    .option("--no-backup", "do not keep the previous version as .bak")
    .action(
      opsAction(async (ctx, local: string, remote: string, options: { owner?: string; group?: string; mode?: string; backup: boolean }) => {
        let content: Buffer;
        try {
          content = readFileSync(local);
        } catch (error) {
          throw new OpsError("-", "read local file", `${local}: ${(error as Error).message}`, "check the path");
        }
        if (!remote.startsWith("/")) throw new OpsError("-", "check arguments", `remote path ${remote} is not absolute`, "give an absolute path such as /opt/cardano/config/topology.json");
        const mode = options.mode === undefined ? undefined : formatMode(options.mode);
        const hosts = await ctx.selectedHosts();
        const sha = createHash("sha256").update(content).digest("hex");
        if (ctx.dryRun) {
          const group = await ctx.group(hosts);
          const result = await group.each(async (c) => {
            // Read as a put would see it (never through a link the node planted), compared here.
            const current = await c.read(remote, { step: "compare" });
            const same = current !== undefined && createHash("sha256").update(current).digest("hex") === sha;
            return { status: "ok", detail: { wouldChange: !same } };
          });
          if (ctx.out.json) ctx.out.data({ dryRun: true, ...result.toJSON() });
          else ctx.out.info(`dry run: ${remote} would change on ${result.results.filter((r) => r.detail?.wouldChange).map((r) => r.host).join(", ") || "no host"}`);
          return exitStatus(result);
        }
        await ctx.confirm(`write ${local} to ${remote} on ${hosts.map((h) => h.name).join(", ")}?`);
        const group = await ctx.group(hosts);
        const result = await group.put(remote, content, { owner: options.owner, group: options.group, mode, backup: options.backup });
        if (ctx.out.json) ctx.out.data(result);
        else ctx.out.summary(result);
        await ctx.audit(result, { local, remote, sha256: sha, bytes: content.length });
        return exitStatus(result);
      }),
    );
}
