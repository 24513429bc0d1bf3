/**
 * The rollout's journal beside the pool's lease: what it records, what it reads from an older pool-ops's file in the
 * state directory (moved beside the lease at the first write), and what it refuses.
 */
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryJournal } from "../../test/memory-journal";
import { tempDir } from "../../test/support";
import { describeProgress, legacyJournalPath, rolloutEntry, rolloutJournalOf, RolloutJournalStore, type RolloutJournal } from "./rollout-journal";
import { refuseUnfinishedRollout, resumeCommand } from "./unfinished-rollout";
import type { OpsContext } from "../context";

const journal: RolloutJournal = {
  pool: "sandstone",
  stackDigest: "ab".repeat(32),
  leaderAtStart: "producer-1",
  promoteBack: false,
  startedAt: "2026-12-02T03:00:00.000Z",
  steps: [
    { id: "create:relay-5", kind: "node", host: "relay-5", role: "relay", effect: "create" },
    { id: "topology", kind: "topology", joining: ["relay-5"], leaving: [] },
    { id: "settle", kind: "settle" },
  ],
  done: ["create:relay-5"],
  resume: "pool-ops rollout --stacks out",
};

let stateDir: string;
let before: string | undefined;
beforeEach(() => {
  before = process.env.POOL_OPS_STATE_DIR;
  stateDir = tempDir("rollout-journal");
  process.env.POOL_OPS_STATE_DIR = stateDir;
});
afterEach(() => {
  if (before === undefined) delete process.env.POOL_OPS_STATE_DIR;
  else process.env.POOL_OPS_STATE_DIR = before;
});

describe("the rollout's journal beside the lease", () => {
  it("is a pool-journal entry of command rollout, stopped at its first step not done, and reads back whole", async () => {
    const pool = new MemoryJournal();
    const { store, journal: none } = await RolloutJournalStore.open(pool, "sandstone");
    expect(none).toBeUndefined();
    await store.save(journal);
    expect(pool.entry).toMatchObject({ command: "rollout", step: "topology", startedAt: journal.startedAt });
    expect(pool.entry?.holder.pid).toBe(process.pid);
    expect((await RolloutJournalStore.open(pool, "sandstone")).journal).toEqual(journal);
    expect(describeProgress(journal)).toBe("1 of 3 steps done, stopped at topology");
    await store.drop();
    expect(pool.entry).toBeUndefined();
  });

  it("another command's entry is not a rollout's", () => {
    expect(rolloutJournalOf({ command: "promote", step: "fence", startedAt: "", holder: { user: "a", host: "b", pid: 1 }, facts: {} })).toBeUndefined();
  });

  it("a malformed one is refused naming the field", () => {
    const bad = { ...rolloutEntry(journal), facts: { rollout: { ...journal, done: "all" } } };
    expect(() => rolloutJournalOf(bad)).toThrow(/the journal beside the pool's lease: the rollout's journal is malformed \(done: /);
  });

  it("an older pool-ops's journal file is read, and moved beside the lease at the first write", async () => {
    mkdirSync(stateDir, { recursive: true });
    const file = legacyJournalPath("sandstone");
    writeFileSync(file, JSON.stringify({ ...journal, resume: undefined }));
    const pool = new MemoryJournal();
    const opened = await RolloutJournalStore.open(pool, "sandstone");
    expect(opened.adopted).toBe(file);
    expect(opened.journal?.done).toEqual(["create:relay-5"]);
    expect(opened.store.where).toBe(file);
    await opened.store.save(opened.journal!);
    expect(existsSync(file)).toBe(false);
    expect(rolloutJournalOf(pool.entry)?.done).toEqual(["create:relay-5"]);
    expect(opened.store.where).toMatch(/beside the pool's lease/);
  });

  it("one beside the lease wins over a leftover file", async () => {
    writeFileSync(legacyJournalPath("sandstone"), JSON.stringify({ ...journal, done: [] }));
    const pool = new MemoryJournal();
    pool.entry = rolloutEntry(journal);
    const opened = await RolloutJournalStore.open(pool, "sandstone");
    expect(opened.adopted).toBeUndefined();
    expect(opened.journal?.done).toEqual(["create:relay-5"]);
  });
});

describe("an unfinished rollout and the other commands", () => {
  it("the resume command is the one the operator typed, with the options that choose the target", () => {
    expect(resumeCommand(true, {})).toBe("pool-ops image rollout");
    expect(resumeCommand(false, { image: "ami-1", stacks: "out", promoteBack: true })).toBe("pool-ops rollout --image ami-1 --stacks out");
  });

  it("every other changing command is refused, naming the rollout, how far it got and both ways on", async () => {
    const ctx = {} as OpsContext;
    await expect(refuseUnfinishedRollout(ctx, rolloutEntry(journal))).rejects.toThrow(/the pool is mid-rollout \(rollout by .* started 2026-12-02T03:00:00.000Z, 1 of 3 steps done, stopped at topology\): only a rollout resumes it/);
    const error = await refuseUnfinishedRollout(ctx, rolloutEntry(journal)).catch((e: { remedy?: string }) => e);
    expect((error as { remedy?: string }).remedy).toMatch(/resume it: pool-ops rollout --stacks out .*pool-ops rollout --abandon/);
  });
});
