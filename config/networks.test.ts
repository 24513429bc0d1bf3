import { describe, expect, it } from "vitest";
import { isCardanoNetwork, NETWORKS } from "./networks";

describe("network genesis data", () => {
  it("has the Shelley transition consistent with the Byron era (start + slots × 20 s)", () => {
    for (const g of Object.values(NETWORKS)) {
      expect(Date.parse(g.systemStart) / 1000).toBe(g.systemStartUnix);
      expect(g.systemStartUnix + g.shelleyStartSlot * g.byronSlotLengthSeconds).toBe(g.shelleyStartUnix);
    }
    expect(new Date(NETWORKS.mainnet.shelleyStartUnix * 1000).toISOString()).toBe("2020-07-29T21:44:51.000Z");
  });

  it("knows exactly mainnet, preprod and preview", () => {
    expect(Object.keys(NETWORKS)).toEqual(["mainnet", "preprod", "preview"]);
    expect(isCardanoNetwork("preview")).toBe(true);
    expect(isCardanoNetwork("toString")).toBe(false);
    expect(NETWORKS.preview.epochLength).toBe(86_400);
    expect(NETWORKS.mainnet.networkMagic).toBe(764824073);
  });
});
