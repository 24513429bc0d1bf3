/**
 * Remote file operations: put, read, backup, restore and "make a directory if missing". Each is ONE remote command
 * (no SFTP session: no extra round trips through the bastion, and it runs under `sudo -n` like any other step, so it
 * can write root- or node-owned files that an SFTP session as the login user could not).
 *
 * The command is safe-files.py run by the host's python3 (every Debian cloud image has it: cloud-init is Python):
 * root works through file descriptors obtained by walking each path from / without following links, stages new
 * content in a directory only root can enter beside the target, and renames it into place. So a symbolic link the
 * node user plants — at the target, its `.bak`, a staging name, a backup directory, or any directory on the path —
 * is never followed by root, whenever it is planted (safe-files.py explains how). A plain shell script cannot give
 * that: every `cp`, `chown` or `mv` resolves the path again.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { shellQuote } from "./shell";

/** Exit status of a read for a missing file (EX_NOINPUT): distinct from other failures. */
export const MISSING_FILE_EXIT = 66;
/** Exit status when the content arrived incomplete (EX_DATAERR): the target is left as it was. */
export const INCOMPLETE_CONTENT_EXIT = 65;
/** Exit status when safe-files.py refused for safety (a link, a writable parent, …): nothing was changed. */
export const REFUSED_EXIT = 70;

/**
 * Which parent directories a write accepts. Every policy refuses links anywhere on the path and directories writable
 * by group or others; `root-owned` also requires every directory on the path to be root's, so no other user can
 * replace the written file afterwards.
 */
export type ParentPolicy = "no-links" | "root-owned";

export interface PutOptions {
  /** Owner of the new file (name or uid). @default the previous file's owner, else root (the sudo user) */
  readonly owner?: string;
  /** @default the previous file's group when no owner is given, else root's group */
  readonly group?: string;
  /** Mode such as 0o640 or "0640". @default the previous file's mode, else 0644 */
  readonly mode?: number | string;
  /** Keep the previous version as `<path>.bak`. @default true */
  readonly backup?: boolean;
  /** @default "no-links" */
  readonly parents?: ParentPolicy;
  readonly sudo?: boolean;
  readonly step?: string;
}

export interface DirectoryOptions {
  readonly owner?: string;
  readonly group?: string;
  /** Mode of directories that are made. @default 0755 */
  readonly mode?: number | string;
  /** @default "no-links" */
  readonly parents?: ParentPolicy;
}

export function formatMode(mode: number | string): string {
  const text = typeof mode === "number" ? mode.toString(8) : mode.replace(/^0o/, "");
  if (!/^[0-7]{3,4}$/.test(text)) throw new Error(`file mode ${JSON.stringify(mode)}: expected octal such as 0640`);
  return text.padStart(4, "0");
}

function absolute(path: string): string {
  if (!path.startsWith("/")) throw new Error(`remote path ${JSON.stringify(path)}: expected an absolute path`);
  if (path.split("/").some((p) => p === "." || p === "..")) throw new Error(`remote path ${JSON.stringify(path)}: expected no . or .. components`);
  return path;
}

/** The program every operation runs (read once: it is sent with each command). */
let program: string | undefined;
function safeFilesProgram(): string {
  program ??= readFileSync(new URL("./safe-files.py", import.meta.url), "utf8");
  return program;
}

/** The command line of one operation: `python3 -I -c <program> OP <json>` (isolated: no PYTHON* variables, no cwd on sys.path). */
export function safeFilesCommand(op: "put" | "read" | "ensure-dir" | "backup" | "restore" | "move", args: Record<string, unknown>): string {
  return [
    `command -v python3 >/dev/null 2>&1 || { echo "python3 is missing on this host (every Debian cloud image has it): pool-ops needs it to write files safely" >&2; exit 69; }`,
    `exec python3 -I -c ${shellQuote(safeFilesProgram())} ${op} ${shellQuote(JSON.stringify(args))}`,
  ].join("\n");
}

/**
 * The command of an atomic put, fed the content on stdin. Prints `changed` or `unchanged`. The content is checked
 * against its sha256 before anything is touched (a connection lost mid-transfer leaves nothing behind), the previous
 * version is kept as `<path>.bak` (a copy, made like the new file), and the new file is renamed over the target.
 */
export function atomicPutScript(path: string, content: Buffer, options: PutOptions = {}): string {
  return safeFilesCommand("put", {
    path: absolute(path),
    sha256: createHash("sha256").update(content).digest("hex"),
    ...(options.owner ? { owner: options.owner } : {}),
    ...(options.group ? { group: options.group } : {}),
    ...(options.mode !== undefined ? { mode: formatMode(options.mode) } : {}),
    backup: options.backup !== false,
    parents: options.parents ?? "no-links",
  });
}

/** Prints a regular file (never through a link), or exits MISSING_FILE_EXIT when it does not exist. */
export function readScript(path: string): string {
  return safeFilesCommand("read", { path: absolute(path) });
}

/**
 * Makes the missing directories of `path` with the given owner and mode; directories that exist keep their owner
 * and mode. (`install -d -m 0755 DIR` would set an existing DIR to 0755: that widened `keys/` on a producer.)
 */
export function ensureDirectoryScript(path: string, options: DirectoryOptions = {}): string {
  return safeFilesCommand("ensure-dir", {
    path: absolute(path),
    ...(options.owner ? { owner: options.owner } : {}),
    ...(options.group ? { group: options.group } : {}),
    mode: formatMode(options.mode ?? 0o755),
    parents: options.parents ?? "no-links",
  });
}

export interface BackupEntry {
  /** The file to back up. */
  readonly path: string;
  /** Its name inside the backup directory. */
  readonly as: string;
}

/**
 * Copies the existing files among `files` into `dir` (made root-only 0700 when missing; a backup directory others
 * can enter is refused). Prints `{"absent": [...]}`: the files that did not exist (restore removes those).
 */
export function backupFilesScript(dir: string, files: readonly BackupEntry[]): string {
  return safeFilesCommand("backup", { dir: absolute(dir), files: files.map((f) => ({ path: absolute(f.path), as: safeName(f.as) })) });
}

export interface RestoreEntry {
  readonly path: string;
  /** Its name inside the backup directory (ignored when `absent`). */
  readonly from: string;
  /** The file did not exist before: remove it (the name only; a link there is removed, not followed). */
  readonly absent?: boolean;
}

/** Puts backed-up files back in place, each through a private staging file and a rename; removes those that were absent. */
export function restoreFilesScript(dir: string, files: readonly RestoreEntry[], options: { parents?: ParentPolicy } = {}): string {
  return safeFilesCommand("restore", { dir: absolute(dir), files: files.map((f) => ({ path: absolute(f.path), from: safeName(f.from), ...(f.absent ? { absent: true } : {}) })), parents: options.parents ?? "no-links" });
}

export interface MoveOptions {
  /** @default "no-links" */
  readonly parents?: ParentPolicy;
  /** Owner, group and mode of directories made at either end when missing; without a mode none are made. */
  readonly owner?: string;
  readonly group?: string;
  readonly mode?: number | string;
}

/**
 * Renames files on one filesystem (as promote moves credentials between `keys/` and `keys/standby/`), refusing a
 * link at either end (`mv -f A B` moves A *into* the directory a link at B names). A file already moved is fine;
 * missing at both ends exits MISSING_FILE_EXIT, naming it on stderr (`missing <from>`).
 */
export function moveFilesScript(files: ReadonlyArray<{ from: string; to: string }>, options: MoveOptions = {}): string {
  return safeFilesCommand("move", {
    files: files.map((f) => ({ from: absolute(f.from), to: absolute(f.to) })),
    parents: options.parents ?? "no-links",
    ...(options.mode !== undefined ? { mode: formatMode(options.mode), ...(options.owner ? { owner: options.owner } : {}), ...(options.group ? { group: options.group } : {}) } : {}),
  });
}

function safeName(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name === "." || name === "..") throw new Error(`backup name ${JSON.stringify(name)}: expected letters, digits, '.', '_' or '-'`);
  return name;
}
