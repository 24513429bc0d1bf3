import { describe, expect, test } from "vitest";
import { bothForging, forgingGaps, type ForgingSample } from "./forging-sampler";

const samples = (...rows: (number | undefined)[][]): ForgingSample[] => rows.map((forging, i) => ({ at: i * 100, forging }));

describe("forging samples", () => {
  test("a promotion: one stretch with no producer forging, from the fence to the new leader's first forging sample", () => {
    const s = samples([1, 0], [1, undefined], [0, 0], [undefined, 0], [0, 1], [undefined, 1], [0, 1]);
    expect(forgingGaps(s)).toEqual([{ from: 200, to: 300 }]);
    expect(bothForging(s)).toEqual([]);
  });

  test("two stretches are two gaps; a sample with both forging is reported; unreadable counts as not forging", () => {
    const s = samples([undefined, undefined], [1, 0], [0, 0], [1, 1], [0, 0]);
    expect(forgingGaps(s)).toEqual([{ from: 0, to: 0 }, { from: 200, to: 200 }, { from: 400, to: 400 }]);
    expect(bothForging(s)).toEqual([{ at: 300, forging: [1, 1] }]);
  });
});
