import { describe, expect, it } from "vitest";
import { assertIssuableKesPeriod, kesPeriodAt, kesPeriodStart, opcertExpiry, opcertValidity, slotAt } from "./kes-period";
import { NETWORKS } from "../../config/networks";

describe("KES periods", () => {
  it("matches the worked mainnet example (slot 195,747,309, period 1510)", () => {
    const t = new Date("2026-08-21T12:00:00Z");
    expect(slotAt(t, "mainnet")).toBe(195_747_309);
    expect(kesPeriodAt(t, "mainnet")).toBe(1510);
  });

  it("starts each network's Shelley era at its genesis numbers", () => {
    expect(slotAt(new Date("2020-07-29T21:44:51Z"), "mainnet")).toBe(4_492_800);
    expect(slotAt(new Date(1655769600_000), "preprod")).toBe(86_400);
    expect(slotAt(new Date("2022-10-25T00:00:00Z"), "preview")).toBe(0);
    expect(kesPeriodAt(new Date("2022-10-25T00:00:00Z"), "preview")).toBe(0);
    expect(kesPeriodAt(new Date((1666656000 + 129_600) * 1000), "preview")).toBe(1);
    expect(kesPeriodAt(new Date((1666656000 + 129_599) * 1000), "preview")).toBe(0);
    expect(() => slotAt(new Date("2019-01-01T00:00:00Z"), "mainnet")).toThrow(/before the Shelley era/);
  });

  it("gives period starts and expiry = start of period start + 62", () => {
    // slot 1510 × 129600 = 195,696,000, i.e. 1596059091 + (195,696,000 − 4,492,800) s
    expect(kesPeriodStart(1510, "mainnet").toISOString()).toBe("2026-08-20T21:44:51.000Z");
    expect(kesPeriodAt(kesPeriodStart(1510, "mainnet"), "mainnet")).toBe(1510);
    expect(kesPeriodAt(new Date(kesPeriodStart(1510, "mainnet").getTime() - 1000), "mainnet")).toBe(1509);
    const expiry = opcertExpiry(1510, "mainnet");
    expect(expiry).toEqual(kesPeriodStart(1572, "mainnet"));
    expect((expiry.getTime() - kesPeriodStart(1510, "mainnet").getTime()) / 86_400_000).toBe(93);
    expect(NETWORKS.mainnet.maxKESEvolutions).toBe(62);
  });

  it("reports validity and days left", () => {
    const now = new Date("2026-08-21T12:00:00Z");
    const v = opcertValidity(1510, now, "mainnet");
    expect(v.status).toBe("valid");
    expect(v.periodsLeft).toBe(62);
    // 51,309 s (slot 195,747,309 − 195,696,000) of the 93 days are gone
    expect(v.daysLeft).toBeCloseTo(93 - 51_309 / 86_400, 6);
    expect(opcertValidity(1448, now, "mainnet").status).toBe("expired");
    expect(opcertValidity(1449, now, "mainnet").status).toBe("valid");
    expect(opcertValidity(1449, now, "mainnet").periodsLeft).toBe(1);
    expect(opcertValidity(1511, now, "mainnet").status).toBe("not-yet-valid");
  });

  it("refuses to issue a cert starting in the future or already expired", () => {
    const now = new Date("2026-08-21T12:00:00Z");
    expect(() => assertIssuableKesPeriod(1510, now, "mainnet")).not.toThrow();
    expect(() => assertIssuableKesPeriod(1449, now, "mainnet")).not.toThrow();
    expect(() => assertIssuableKesPeriod(1511, now, "mainnet")).toThrow(
      /^--kes-period: KES period 1511 is in the future: the current mainnet KES period is 1510/,
    );
    expect(() => assertIssuableKesPeriod(1448, now, "mainnet")).toThrow(
      /^--kes-period: KES period 1448 is too old: a certificate starting there expired at .*use 1510/,
    );
  });
});
