/**
 * The lab's cardano-node release archive (lab/release-fixtures.ts: release-shaped, holding the node stand-in), built
 * once per content and cached, so its SHA-256 — which the pool config pins and the golden image's cache key names —
 * stays the same from one lab to the next.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { cardanoNodeRelease } from "../release-fixtures";
import { labCacheDir, withCacheLock } from "./cache";
import type { ReleasePin } from "./golden-image";

/** Everything the archive is made from: the release fixture, the stand-ins it holds, and the Node it runs on. */
function releaseDigest(labDir: string, version: string): string {
  const hash = createHash("sha256").update(version).update(process.execPath).update(String(readFileSync(process.execPath).length));
  const sources = readdirSync(labDir).filter((f) => /^(release-fixtures|node-standin|cardano-cli-standin)[\w.-]*\.ts$/.test(f) && !f.endsWith(".test.ts"));
  for (const file of [...sources.sort(), "image/standin-binary.ts"]) if (existsSync(join(labDir, file))) hash.update(file).update(readFileSync(join(labDir, file)));
  // What the stand-ins import from the product (key formats, KES, metrics): ops/cardano and config.
  for (const dir of ["../ops/cardano", "../config"]) {
    for (const file of readdirSync(join(labDir, dir)).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).sort()) hash.update(readFileSync(join(labDir, dir, file)));
  }
  return hash.digest("hex").slice(0, 20);
}

export async function labNodeRelease(version: string): Promise<ReleasePin> {
  const labDir = join(import.meta.dirname, "..");
  const key = releaseDigest(labDir, version);
  const dir = join(labCacheDir(), `cardano-node-release-${key}`);
  const pin = join(dir, "pin.json");
  return withCacheLock(`cardano-node-release-${key}`, async () => {
    if (!existsSync(pin)) {
      const staging = `${dir}.building`;
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      const built = await cardanoNodeRelease(staging, version);
      writeFileSync(join(staging, "pin.json"), JSON.stringify({ name: basename(built.file), sha256: built.sha256 }));
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    }
    const { name, sha256 } = JSON.parse(readFileSync(pin, "utf8")) as { name: string; sha256: string };
    return { file: join(dir, name), sha256 };
  });
}
