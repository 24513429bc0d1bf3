import { describe, expect, it } from "vitest";
import type { Connection } from "./connection";
import { Group } from "./group";
import { OpsError } from "./result";

const hosts = (...names: string[]) => names.map((name) => ({ name }) as unknown as Connection);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Group", () => {
  it("parallel: bounded concurrency, every host reported in the order given, statuses from outcomes and errors", async () => {
    let running = 0;
    let peak = 0;
    const finished: string[] = [];
    const group = new Group(hosts("a", "b", "c", "d", "e"), { strategy: { kind: "parallel", concurrency: 2 }, onResult: (r) => finished.push(r.host) });
    const result = await group.each(async (c) => {
      running++;
      peak = Math.max(peak, running);
      await wait(c.name === "a" ? 30 : 5);
      running--;
      if (c.name === "b") throw new OpsError("b", "connect", "no answer", "start it", "unreachable");
      if (c.name === "c") throw new OpsError("c", "run", "lost", "look", "unknown");
      if (c.name === "d") throw new Error("boom");
      return c.name === "e" ? { status: "changed" } : undefined;
    });
    expect(peak).toBe(2);
    expect(result.results.map((r) => [r.host, r.status])).toEqual([
      ["a", "ok"],
      ["b", "unreachable"],
      ["c", "unknown"],
      ["d", "failed"],
      ["e", "changed"],
    ]);
    expect(finished[finished.length - 1]).not.toBe("e"); // reported as they finish, not in order
    expect(result.ok).toBe(false);
    expect(result.failures.map((r) => r.host)).toEqual(["b", "c", "d"]);
    expect(result.byHost("b")?.error).toEqual({ step: "connect", message: "no answer", remedy: "start it" });
    expect(result.counts()).toMatchObject({ ok: 1, changed: 1, failed: 1, unreachable: 1, unknown: 1 });
  });

  it("serial: one at a time, carries on after a failure", async () => {
    const order: string[] = [];
    const result = await new Group(hosts("a", "b", "c"), { strategy: { kind: "serial" } }).each(async (c) => {
      order.push(`start ${c.name}`);
      await wait(2);
      order.push(`end ${c.name}`);
      if (c.name === "b") throw new OpsError("b", "run", "x", "y");
    });
    expect(order).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(result.results.map((r) => r.status)).toEqual(["ok", "failed", "ok"]);
  });

  it("rolling: stops at the first failed health check; the rest are skipped, not silently dropped", async () => {
    const touched: string[] = [];
    const result = await new Group(hosts("a", "b", "c"), {
      strategy: {
        kind: "rolling",
        healthCheck: async (c) => {
          if (c.name === "b") throw new OpsError("b", "health check", "node not synced", "wait");
        },
      },
    }).each(async (c) => {
      touched.push(c.name);
      return { status: "changed" };
    });
    expect(touched).toEqual(["a", "b"]);
    expect(result.results.map((r) => [r.host, r.status])).toEqual([
      ["a", "changed"],
      ["b", "failed"],
      ["c", "skipped"],
    ]);
    expect(result.byHost("b")?.error?.step).toBe("health check");
    expect(result.byHost("c")?.error?.message).toMatch(/not attempted: b failed at health check/);
  });

  it("rolling: stops at the first failed task", async () => {
    const result = await new Group(hosts("a", "b", "c"), { strategy: { kind: "rolling" } }).each(async (c) => {
      if (c.name === "a") throw new OpsError("a", "connect", "down", "fix", "unreachable");
    });
    expect(result.results.map((r) => r.status)).toEqual(["unreachable", "skipped", "skipped"]);
  });
});
