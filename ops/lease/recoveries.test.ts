/**
 * The next changing command and an interrupted one: its own run finishes it, another command's recovery runs first,
 * and a step of an outer change (a rollout's promotion) is finished under the outer change's journal, which is then
 * put back and decided on like any other.
 */
import { describe, expect, it } from "vitest";
import { MemoryJournal } from "../../test/memory-journal";
import type { OpsContext } from "../context";
import { OpsError } from "../remote/result";
import { leaseForStep, type LeaseGuard } from "./lease-guard";
import { describeJournalEntry, StepJournal, type JournalEntry } from "./pool-journal";
import { recoverUnfinished, registerRecovery } from "./recoveries";

const holder = { user: "alice", host: "laptop", pid: 4242 };
const entry = (command: string, step: string, within?: JournalEntry): JournalEntry => ({ command, step, startedAt: "2026-12-02T03:00:00Z", holder, facts: {}, ...(within ? { within } : {}) });

function setUp() {
  const journal = new MemoryJournal();
  const lease: LeaseGuard = { assertHeld: () => undefined, signal: new AbortController().signal, journal };
  const warnings: string[] = [];
  const ctx = { out: { warn: (t: string) => warnings.push(t) } } as unknown as OpsContext;
  return { journal, lease, warnings, ctx };
}

// Test-only commands, so the registry's real entries (rotate-kes, promote …) are not touched.
const calls: { command: string; step: string; journalSeen: JournalEntry | undefined; wrote?: JournalEntry }[] = [];
registerRecovery(
  "t-inner",
  async (_ctx, e, lease) => {
    // What the inner recovery writes goes inside the outer change, and closing it puts the outer one back.
    await lease.journal?.write(entry("t-inner", "finishing"));
    const wrote = await lease.journal?.read();
    await lease.journal?.clear();
    calls.push({ command: e.command, step: e.step, journalSeen: await lease.journal?.read(), wrote });
    return 0;
  },
  { ownRunFinishes: false },
);
registerRecovery(
  "t-outer",
  async (_ctx, e) => {
    throw new OpsError("-", "recover", `refused: ${e.command} is unfinished`, "resume it");
  },
  { ownRunFinishes: true, finishedBy: ["t-outer-alias"] },
);
registerRecovery("t-failing", async () => 2, { ownRunFinishes: false });

describe("recoverUnfinished", () => {
  it("no journal: the command goes on, nothing said", async () => {
    const { lease, ctx, warnings } = setUp();
    expect(await recoverUnfinished(ctx, "rotate-kes", lease)).toBe("go-on");
    expect(warnings).toEqual([]);
  });

  it("a step of an outer change is finished under the outer change's journal, which is then put back", async () => {
    const { journal, lease, ctx, warnings } = setUp();
    const outer = entry("t-outer", "promote:producer-2");
    journal.entry = entry("t-inner", "fence", outer);
    calls.length = 0;
    // The outer change's own run (or its alias) resumes it once the step is finished.
    expect(await recoverUnfinished(ctx, "t-outer-alias", lease)).toBe("go-on");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.step).toBe("fence");
    expect(calls[0]!.wrote?.within).toEqual(outer);
    expect(calls[0]!.journalSeen).toEqual(outer);
    expect(journal.entry).toEqual(outer);
    expect(warnings.join("\n")).toMatch(/t-inner by alice@laptop pid 4242, .*stopped at step fence, as a step of t-outer by alice@laptop/);
    expect(warnings.join("\n")).toMatch(/finishing the interrupted t-inner \(a step of t-outer\) first/);
  });

  it("another command after the step is finished meets the outer change's recovery: here a refusal, the outer journal kept", async () => {
    const { journal, lease, ctx } = setUp();
    const outer = entry("t-outer", "promote:producer-2");
    journal.entry = entry("t-inner", "fence", outer);
    await expect(recoverUnfinished(ctx, "rotate-kes", lease)).rejects.toThrow(/refused: t-outer is unfinished/);
    expect(journal.entry).toEqual(outer);
  });

  it("a recovery that fails stops the command, naming it, and leaves the journal", async () => {
    const { journal, lease, ctx } = setUp();
    journal.entry = entry("t-failing", "reload");
    await expect(recoverUnfinished(ctx, "push-config", lease)).rejects.toThrow(/the interrupted t-failing could not be finished \(exit 2\); push-config changed nothing more/);
    expect(journal.entry?.command).toBe("t-failing");
  });

  it("a journal no command here knows stops every command, naming it", async () => {
    const { journal, lease, ctx } = setUp();
    journal.entry = entry("t-from-the-future", "x");
    await expect(recoverUnfinished(ctx, "promote", lease)).rejects.toThrow(/no pool-ops command here knows how to finish an interrupted t-from-the-future/);
  });
});

describe("StepJournal / leaseForStep", () => {
  it("nests each entry in the outer one and closes by putting the outer one back", async () => {
    const base = new MemoryJournal();
    const outer = entry("rollout", "promote:producer-2");
    const step = new StepJournal(base, () => outer);
    await step.write(entry("promote", "fence"));
    expect(base.entry?.within).toEqual(outer);
    expect(describeJournalEntry(base.entry!)).toBe("promote by alice@laptop pid 4242, started 2026-12-02T03:00:00Z, stopped at step fence, as a step of rollout by alice@laptop pid 4242, started 2026-12-02T03:00:00Z, stopped at step promote:producer-2");
    await step.clear();
    expect(base.entry).toEqual(outer);
  });

  it("without a journal (a dry run's lease) the lease is passed through", () => {
    const lease: LeaseGuard = { assertHeld: () => undefined, signal: new AbortController().signal };
    expect(leaseForStep(lease, () => entry("rollout", "x"))).toBe(lease);
  });
});
