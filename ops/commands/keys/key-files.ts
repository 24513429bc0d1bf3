/**
 * The files of a key set: the file operations the keys commands need, behind a seam (`KeysIo`, `nodeKeysIo` the
 * real one) so that tests can inject their own, and the names and modes a key set's files have.
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { KeyMaterialError } from "../../cardano";

/** File operations the commands need; `nodeKeysIo` is the real one. */
export interface KeysIo {
  readText(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  mkdirp(path: string, mode: number): Promise<void>;
  /** Create a new file with `mode`; fails (EEXIST) if it exists. */
  writeNew(path: string, text: string, mode: number): Promise<void>;
  /** Replace `path` atomically: temp file in the same directory, fsync, rename. Keeps an existing file's mode. */
  writeAtomic(path: string, text: string, defaultMode: number): Promise<void>;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY).catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  } finally {
    await handle.close();
  }
}

export const nodeKeysIo: KeysIo = {
  readText: (path) => readFile(path, "utf8"),
  exists: async (path) => {
    try {
      await stat(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  },
  mkdirp: async (path, mode) => {
    await mkdir(path, { recursive: true, mode });
  },
  writeNew: async (path, text, mode) => {
    const handle = await open(path, "wx", mode);
    try {
      await handle.writeFile(text, "utf8");
      await handle.chmod(mode); // umask must not widen nor narrow what we asked for
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  writeAtomic: async (path, text, defaultMode) => {
    const mode = await stat(path).then(
      (s) => s.mode & 0o777,
      () => defaultMode,
    );
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    const handle = await open(temp, "wx", mode);
    try {
      await handle.writeFile(text, "utf8");
      await handle.chmod(mode);
      await handle.sync();
      await handle.close();
      await rename(temp, path);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await fsyncDir(dirname(path));
  },
};

export async function readSource(io: KeysIo, path: string): Promise<string> {
  try {
    return await io.readText(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : String(err);
    throw new KeyMaterialError(path, reason);
  }
}

/** File names of a key set in a directory (as `generate` writes them and `import`/`show` read them). */
export const KEY_FILE_NAMES = {
  coldSigningKey: "cold.skey",
  coldVerificationKey: "cold.vkey",
  opcertCounter: "cold.counter",
  vrfSigningKey: "vrf.skey",
  vrfVerificationKey: "vrf.vkey",
  kesSigningKey: "kes.skey",
  kesVerificationKey: "kes.vkey",
  opcert: "node.cert",
} as const;

/** Modes of the files a key set is written in: signing keys for their owner only, the rest readable. */
export const SIGNING_KEY_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;
