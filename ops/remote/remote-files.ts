/**
 * The file operations of a Connection (files.ts builds the commands, safe-files.py runs them on the host): put, read,
 * ensure a directory, back up and restore. Each is one remote command through the connection (or the agent).
 */
import { commandFailure } from "./connection-errors";
import type { CommandResult, Connection } from "./connection";
import {
  atomicPutScript,
  backupFilesScript,
  ensureDirectoryScript,
  MISSING_FILE_EXIT,
  moveFilesScript,
  readScript,
  REFUSED_EXIT,
  restoreFilesScript,
  type BackupEntry,
  type DirectoryOptions,
  type MoveOptions,
  type ParentPolicy,
  type PutOptions,
  type RestoreEntry,
} from "./files";
import { OpsError } from "./result";

/** A file operation's failure as an OpsError; a safety refusal says so plainly (someone planted a link, …). */
function checkFileResult(c: Connection, result: CommandResult, step: string, remedy: string): void {
  if (result.exitCode === 0) return;
  if (result.exitCode === REFUSED_EXIT) {
    const why = result.stderr.trim().split("\n").pop()?.replace(/^REFUSED: /, "") ?? "refused";
    throw new OpsError(c.name, step, `refused for safety: ${why}`, "look at who made it (a compromised node?) before removing it by hand; root never follows a link the node user could plant");
  }
  throw commandFailure(c.name, step, result, remedy, c.settings.commandTimeoutSeconds);
}

export async function putFile(c: Connection, remotePath: string, content: Buffer | string, options: PutOptions = {}): Promise<{ changed: boolean }> {
  const body = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const step = options.step ?? `put ${remotePath}`;
  const result = await c.run(atomicPutScript(remotePath, body, options), { stdin: body, step, sudo: options.sudo, label: `atomic write of ${remotePath}` });
  checkFileResult(c, result, step, "check the directory exists and the owner/group exist on the host");
  return { changed: result.stdout.toString().trim() !== "unchanged" };
}

export async function ensureDirectory(c: Connection, remotePath: string, options: DirectoryOptions & { sudo?: boolean; step?: string } = {}): Promise<void> {
  const step = options.step ?? `make ${remotePath}`;
  const result = await c.run(ensureDirectoryScript(remotePath, options), { step, sudo: options.sudo, label: `make ${remotePath}` });
  checkFileResult(c, result, step, "check the path and the owner/group");
}

export async function backupFiles(c: Connection, backupDir: string, files: readonly BackupEntry[], options: { sudo?: boolean; step?: string } = {}): Promise<{ absent: string[] }> {
  const step = options.step ?? "back up the files";
  const result = await c.run(backupFilesScript(backupDir, files), { step, sudo: options.sudo, label: `back up ${files.length} file(s) to ${backupDir}` });
  checkFileResult(c, result, step, "check the backup directory");
  return JSON.parse(result.stdout.toString()) as { absent: string[] };
}

export async function restoreFiles(c: Connection, backupDir: string, files: readonly RestoreEntry[], options: { sudo?: boolean; step?: string; parents?: ParentPolicy } = {}): Promise<void> {
  const step = options.step ?? "restore the files";
  const result = await c.run(restoreFilesScript(backupDir, files, options), { step, sudo: options.sudo, label: `restore ${files.length} file(s) from ${backupDir}` });
  checkFileResult(c, result, step, `the backups are in ${backupDir} on ${c.name}`);
}

export async function readFile(c: Connection, remotePath: string, options: { sudo?: boolean; step?: string } = {}): Promise<Buffer | undefined> {
  const step = options.step ?? `read ${remotePath}`;
  const result = await c.run(readScript(remotePath), { step, sudo: options.sudo, label: `cat ${remotePath}` });
  if (result.exitCode === MISSING_FILE_EXIT) return undefined;
  checkFileResult(c, result, step, "check the path and permissions");
  return result.stdout;
}

/**
 * Renames files (never onto or through a link). Resolves `{ missing }` naming the first file missing at both ends
 * (the files before it were moved), else `{}`.
 */
export async function moveFiles(c: Connection, files: ReadonlyArray<{ from: string; to: string }>, options: MoveOptions & { sudo?: boolean; step?: string } = {}): Promise<{ missing?: string }> {
  const step = options.step ?? "move files";
  const result = await c.run(moveFilesScript(files, options), { step, sudo: options.sudo, label: `move ${files.length} file(s)` });
  if (result.exitCode === MISSING_FILE_EXIT) return { missing: /^missing (.*)$/m.exec(result.stderr)?.[1] ?? files.map((f) => f.from).join(" or ") };
  checkFileResult(c, result, step, "check the paths");
  return {};
}
