/**
 * The lab's machine-wide cache (base image, release archives, downloaded packages): shared by every checkout and
 * every lab on this machine, so it is built once. `POOL_LAB_CACHE` overrides the location.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function labCacheDir(): string {
  const dir = process.env.POOL_LAB_CACHE ?? "/var/cache/pool-ops-lab";
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** How long a lock may be held before another builder takes it over (a crashed build). */
const STALE_LOCK_MS = 20 * 60_000;

/**
 * Runs `build` while holding an exclusive lock file for `name`, so two labs starting together build a cache entry
 * once: the second waits, then finds it built.
 */
export async function withCacheLock<T>(name: string, build: () => Promise<T> | T): Promise<T> {
  const lock = join(labCacheDir(), `${name}.lock`);
  const deadline = Date.now() + STALE_LOCK_MS + 60_000;
  for (;;) {
    try {
      closeSync(openSync(lock, "wx"));
      writeFileSync(lock, `${process.pid}\n`);
      break;
    } catch {
      let age = 0;
      let holder = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
        holder = Number(readFileSync(lock, "utf8").trim());
      } catch {
        continue; // released between our two calls
      }
      // A holder that died (killed mid-build) leaves its lock behind: it is stale at once.
      if (age > STALE_LOCK_MS || (holder > 0 && !alive(holder))) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for another lab to finish building ${name} (lock ${lock})`);
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    const result = await build();
    pruneUnusedSiblings(name);
    return result;
  } finally {
    rmSync(lock, { force: true });
  }
}

/** An entry of a kind no lab has used for this long is removed when another entry of that kind is used. */
export const UNUSED_ENTRY_DAYS = 7;

/**
 * Marks the entry `name` (`<kind>-<key>`) used now and removes the entries of the same kind (older recipes: a base
 * image of 433 MB, a golden image of up to 500 MB each) that no lab has used for UNUSED_ENTRY_DAYS and that nobody is
 * building. Every lab takes its entries' locks, so an entry in use is one touched at its lab's start.
 */
export function pruneUnusedSiblings(name: string, now = Date.now()): string[] {
  const dir = labCacheDir();
  const entry = join(dir, name);
  if (existsSync(entry)) utimesSync(entry, new Date(now), new Date(now));
  const kind = name.replace(/-[0-9a-f]+$/, "");
  if (kind === name) return [];
  const removed: string[] = [];
  for (const other of readdirSync(dir)) {
    if (other === name || !new RegExp(`^${kind}-[0-9a-f]+$`).test(other) || existsSync(join(dir, `${other}.lock`))) continue;
    const path = join(dir, other);
    if (now - statSync(path).mtimeMs < UNUSED_ENTRY_DAYS * 86_400_000) continue;
    rmSync(path, { recursive: true, force: true });
    removed.push(other);
  }
  return removed;
}
