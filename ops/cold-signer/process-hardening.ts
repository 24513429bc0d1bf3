/**
 * What the signer child does to itself before it reads the cold key: require that no core dump can be written, and,
 * where Node can (as root), stop the kernel from dumping or letting others ptrace it at all.
 */
import { existsSync, readFileSync } from "node:fs";

/** Core dumps are possible: the key must not be read. */
export class CoreDumpsOn extends Error {}

/**
 * Core dumps must be off before the key is read: the launcher set RLIMIT_CORE to 0, soft and hard (nothing here
 * raises it again: Node has no setrlimit); /proc/self/limits says whether it holds. Where there is no /proc (not
 * Linux), the shell's `ulimit -c 0` either held or stopped the launch.
 */
export function requireNoCoreDumps(): void {
  if (!existsSync("/proc/self/limits")) return;
  const row = readFileSync("/proc/self/limits", "utf8").split("\n").find((line) => line.startsWith("Max core file size"));
  const [soft, hard] = row?.replace("Max core file size", "").trim().split(/\s+/) ?? [];
  if (soft !== "0" || hard !== "0") throw new CoreDumpsOn(`core dumps are not off (core file size limit ${soft ?? "?"}/${hard ?? "?"}): the cold key is not read`);
}

/**
 * As root, one change of the effective group id and back makes the kernel set this process non-dumpable (prctl(2),
 * PR_SET_DUMPABLE: "the process's effective user or group ID is changed" sets it to fs.suid_dumpable, 0 by default):
 * no core dump through any core_pattern, no ptrace or /proc/<pid>/mem for processes without CAP_SYS_PTRACE. Node has
 * no prctl; as any other user the process stays dumpable (README, Security).
 */
export function becomeNonDumpableAsRoot(): void {
  if (process.geteuid?.() !== 0 || !process.setegid || !process.getegid) return;
  const egid = process.getegid();
  try {
    process.setegid(egid === 0 ? 65534 : 0);
    process.setegid(egid);
  } catch {
    // Without CAP_SETGID (a container that dropped it) the first change fails and the process stays as it was.
    try {
      process.setegid(egid);
    } catch {
      // it never left egid
    }
  }
}
