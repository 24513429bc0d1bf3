/**
 * Remote file scripts. A put is ONE remote command fed the content on stdin, rather than an SFTP session: it needs no
 * extra round trips (open, write, fsync, setstat, rename each cost one through the bastion), and it runs under
 * `sudo -n` like any other step, so it can write root- or cardano-owned files that an SFTP session as the login user
 * could not.
 */
import { createHash } from "node:crypto";
import { shellQuote } from "./shell";

/** Exit status of `readScript` for a missing file (EX_NOINPUT): distinct from cat's own failures. */
export const MISSING_FILE_EXIT = 66;

export interface PutOptions {
  /** Owner of the new file. @default the previous file's owner, else the (sudo) user running the put */
  readonly owner?: string;
  /** @default the previous file's group, else the owner's primary group */
  readonly group?: string;
  /** Mode such as 0o640 or "0640". @default the previous file's mode, else 0644 */
  readonly mode?: number | string;
  /** Keep the previous version as `<path>.bak`. @default true */
  readonly backup?: boolean;
  readonly sudo?: boolean;
  readonly step?: string;
}

export function formatMode(mode: number | string): string {
  const text = typeof mode === "number" ? mode.toString(8) : mode.replace(/^0o/, "");
  if (!/^[0-7]{3,4}$/.test(text)) throw new Error(`file mode ${JSON.stringify(mode)}: expected octal such as 0640`);
  return text.padStart(4, "0");
}

/**
 * The script of an atomic put. Prints `changed` or `unchanged`. Steps:
 * temp file beside the target (same filesystem, so the rename is atomic) → content from stdin, checked against its
 * sha256 (a connection lost mid-transfer leaves a short temp file, which is discarded, never renamed) → owner and mode
 * → unchanged? stop → fsync → previous version hard-linked to `.bak` → `mv -f` (rename(2)) → fsync the directory.
 */
export function atomicPutScript(path: string, content: Buffer, options: PutOptions = {}): string {
  if (!path.startsWith("/")) throw new Error(`remote path ${JSON.stringify(path)}: expected an absolute path`);
  const q = shellQuote;
  const sha = createHash("sha256").update(content).digest("hex");
  const owner = options.owner ? `${options.owner}${options.group ? `:${options.group}` : ""}` : options.group ? `:${options.group}` : undefined;
  const lines = [
    "set -eu",
    `target=${q(path)}`,
    'dir=$(dirname "$target"); base=$(basename "$target")',
    'tmp=$(mktemp "$dir/.$base.pool-ops.XXXXXX")',
    "trap 'rm -f \"$tmp\"' EXIT",
    'cat > "$tmp"',
    `if [ "$(sha256sum < "$tmp" | cut -d ' ' -f 1)" != ${sha} ]; then echo "content arrived incomplete (checksum mismatch); target left as it was" >&2; exit 65; fi`,
    // Without explicit owner/mode a replaced file keeps its own; a new file gets 0644.
    owner ? `chown ${q(owner)} "$tmp"` : 'if [ -e "$target" ]; then chown --reference="$target" "$tmp"; fi',
    options.mode !== undefined ? `chmod ${formatMode(options.mode)} "$tmp"` : 'if [ -e "$target" ]; then chmod --reference="$target" "$tmp"; else chmod 0644 "$tmp"; fi',
    'if [ -f "$target" ] && cmp -s "$tmp" "$target" && [ "$(stat -c %u:%g:%a "$tmp")" = "$(stat -c %u:%g:%a "$target")" ]; then echo unchanged; exit 0; fi',
    'sync "$tmp"',
    options.backup === false ? ":" : 'if [ -f "$target" ]; then ln -f "$target" "$target.bak" 2>/dev/null || cp -p "$target" "$target.bak"; fi',
    'mv -f "$tmp" "$target"',
    "trap - EXIT",
    'sync "$dir" 2>/dev/null || true',
    "echo changed",
  ];
  return lines.join("\n");
}

/** Prints a file, or exits MISSING_FILE_EXIT when it does not exist. */
export function readScript(path: string): string {
  const q = shellQuote(path);
  return `if [ -e ${q} ]; then exec cat -- ${q}; else exit ${MISSING_FILE_EXIT}; fi`;
}
