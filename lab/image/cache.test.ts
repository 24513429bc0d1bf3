import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pruneUnusedSiblings, UNUSED_ENTRY_DAYS, withCacheLock } from "./cache";

describe("the lab cache keeps what labs use and drops old recipes", () => {
  let dir: string;
  const previous = process.env.POOL_LAB_CACHE;
  const day = 86_400_000;
  const entry = (name: string, ageDays: number) => {
    mkdirSync(join(dir, name, "root"), { recursive: true });
    const when = new Date(Date.now() - ageDays * day);
    utimesSync(join(dir, name), when, when);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "lab-cache-"));
    process.env.POOL_LAB_CACHE = dir;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    if (previous === undefined) delete process.env.POOL_LAB_CACHE;
    else process.env.POOL_LAB_CACHE = previous;
  });

  it("using an entry removes same-kind entries unused for a week, keeps recent ones, other kinds and ones being built", async () => {
    entry("base-aaaa", UNUSED_ENTRY_DAYS + 1);
    entry("base-bbbb", 1);
    entry("base-cccc", UNUSED_ENTRY_DAYS + 3);
    writeFileSync(join(dir, "base-cccc.lock"), "1\n");
    entry("golden-dddd", UNUSED_ENTRY_DAYS + 30);
    entry("base-eeee", UNUSED_ENTRY_DAYS + 10);
    await withCacheLock("base-eeee", () => undefined);
    expect(readdirSync(dir).sort()).toEqual(["base-bbbb", "base-cccc", "base-cccc.lock", "base-eeee", "golden-dddd"]);
  });

  it("the entry used is marked used now, so the next prune keeps it", () => {
    entry("golden-1111", UNUSED_ENTRY_DAYS + 5);
    entry("golden-2222", 0);
    pruneUnusedSiblings("golden-1111");
    expect(pruneUnusedSiblings("golden-2222")).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(["golden-1111", "golden-2222"]);
  });
});
