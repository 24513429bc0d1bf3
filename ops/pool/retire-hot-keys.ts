/**
 * Once a rotation is verified, the previous pair has no use left and is a liability: a copy of a KES key that is
 * still valid on chain lets whoever reads it forge (or equivocate) in the pool's name until its cert expires. So the
 * rotation's backups on each producer (kept only until verification: they are what a rollback restores) are removed,
 * with every earlier rotation's and the `.bak` copies a put or an import may have left beside the credential files.
 *
 * `find -P` never follows a link, not even as its starting point, so a link the node user planted for the backup
 * directory is not descended into; `rm -rf` removes links, not what they name.
 */
import { hostLayout, type CredentialFiles } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import type { Connection } from "../remote/connection";
import { shellQuote } from "../remote/shell";

export function retirePreviousPairsScript(backupRoot: string, credentialSets: readonly CredentialFiles[]): string {
  const q = shellQuote;
  const leftovers = credentialSets.flatMap((files) => [files.kesKey, files.opcert].flatMap((f) => [`${f}.bak`, `${f}.restore`]));
  return [
    "set -eu",
    `if [ -d ${q(backupRoot)} ] && [ ! -L ${q(backupRoot)} ]; then find -P ${q(backupRoot)} -mindepth 1 -maxdepth 1 -name '*-rotate-kes' -exec rm -rf -- {} +; fi`,
    `rm -f -- ${leftovers.map(q).join(" ")}`,
  ].join("\n");
}

/** Retires every previous pair on one producer: all rotations' backups and the copies beside both credential sets. */
export async function retirePreviousPairs(config: PoolConfig, c: Connection): Promise<void> {
  const layout = hostLayout(config);
  await c.runChecked(retirePreviousPairsScript(layout.backupDir, [layout.activeCredentials, layout.heldCredentials]), { step: "retire the previous pair", label: "remove the previous KES key and op cert backups" });
}
