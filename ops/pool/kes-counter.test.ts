import { describe, expect, test } from "vitest";
import { chooseCounter } from "./kes-counter";

describe("op cert counter rule (m ≤ n ≤ m + 1)", () => {
  test("on-chain counter known: m + 1, whether the current cert made a block or not", () => {
    expect(chooseCounter({ current: 5, onChain: 5 }).counter).toBe(6);
    // No block since the last rotation: the chain still has 4, the current cert 5 = m + 1 is re-used, never 6.
    expect(chooseCounter({ current: 5, onChain: 4 })).toMatchObject({ counter: 5, reason: expect.stringMatching(/m \+ 1/) });
  });

  test("on-chain counter unknown: re-use the current counter, and say why", () => {
    expect(chooseCounter({ current: 3 })).toMatchObject({ counter: 3, reason: expect.stringMatching(/m \+ 2 would be refused/) });
  });

  test("an explicit counter is checked against the bounds", () => {
    expect(chooseCounter({ current: 5, onChain: 5, requested: 5 }).counter).toBe(5);
    expect(chooseCounter({ current: 5, onChain: 5, requested: 6 }).counter).toBe(6);
    expect(() => chooseCounter({ current: 5, onChain: 4, requested: 6 })).toThrow(/--counter 6 would be refused by the chain: the chain last saw 4/);
    expect(() => chooseCounter({ current: 5, requested: 6 })).toThrow(/only the current 5/);
  });

  test("an on-chain counter that cannot belong to the leader's cert is refused", () => {
    expect(() => chooseCounter({ current: 5, onChain: 7 })).toThrow(/expected 4 or 5/);
    expect(() => chooseCounter({ current: 5, onChain: 2 })).toThrow(/expected 4 or 5/);
  });
});
