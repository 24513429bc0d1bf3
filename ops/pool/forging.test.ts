import { describe, expect, test } from "vitest";
import { testPool } from "../../test/pool-fixtures";
import { slotAt } from "../cardano";
import type { Connection } from "../remote/connection";
import { queryOnChainCounter } from "./kes-counter";
import { QUIET_SLOTS, readingOf, verdict, type ForgingReading } from "./forging";
import { parseMetrics } from "./node-metrics";

const config = testPool();
const at = (wallSlot: number, forgingEnabled: number | undefined, aboutToLead: number, chainSlot?: number): ForgingReading => ({ wallSlot, metrics: true, forgingEnabled, aboutToLead, chainSlot });

describe("forging verdicts: the gauge cross-checked with the Forge counters", () => {
  test("forging needs the gauge at 1 AND the forging loop counting slots", () => {
    expect(verdict(at(100, 1, 5), at(102, 1, 7))).toBe("forging");
    // A stuck gauge (cardano-node #6113/#6576): 1, but the loop does not run.
    expect(verdict(at(100, 1, 5), at(110, 1, 5))).toBe("unknown");
    // The loop ran but the gauge says 0 (a NotEffective SIGHUP during startup): not trusted either way.
    expect(verdict(at(100, 0, 5), at(102, 0, 7))).toBe("unknown");
  });

  test("not forging needs the gauge at 0 AND the loop silent for a few slots", () => {
    expect(verdict(at(100, 0, 5), at(100 + QUIET_SLOTS, 0, 5))).toBe("not forging");
    expect(verdict(at(100, 0, 5), at(100 + QUIET_SLOTS - 1, 0, 5))).toBe("unknown");
    expect(verdict(at(100, 1, 5), at(100 + QUIET_SLOTS, 1, 5))).toBe("unknown");
    expect(verdict({ wallSlot: 100, metrics: false, aboutToLead: 0 }, at(110, 0, 0))).toBe("unknown");
  });

  test("readings take the line's metric names in both spellings; the chain slot says the startup is done", () => {
    const suffixed = readingOf(config, parseMetrics("cardano_node_metrics_forging_enabled_int 1\ncardano_node_metrics_Forge_about_to_lead_counter 42\ncardano_node_metrics_slotNum_int 9\n"));
    expect(suffixed).toMatchObject({ metrics: true, forgingEnabled: 1, aboutToLead: 42, chainSlot: 9 });
    const starting = readingOf(config, parseMetrics("cardano_node_metrics_forging_enabled 1\n"));
    expect(starting).toMatchObject({ forgingEnabled: 1, aboutToLead: 0, chainSlot: undefined });
    expect(readingOf(config, undefined).metrics).toBe(false);
  });
});

describe("kes.onChainCounterCommand runs only where it can work", () => {
  const stub = (metrics: string | undefined, printed = "7\n") =>
    ({
      name: "producer-2",
      async run(command: string) {
        const isMetrics = command.includes("/metrics");
        if (isMetrics) return { exitCode: metrics === undefined ? 7 : 0, stdout: Buffer.from(metrics ?? ""), stderr: Buffer.from("") };
        return { exitCode: 0, stdout: Buffer.from(printed), stderr: Buffer.from("") };
      },
    }) as unknown as Connection;
  const withCommand = testPool({ kes: { onChainCounterCommand: "/usr/local/bin/pool-onchain-counter" } });

  test("a node that does not answer, or is still replaying, is refused with the reason", async () => {
    await expect(queryOnChainCounter(withCommand, stub(undefined))).rejects.toThrow(/needs a synced node with a socket, and producer-2's node is not \(the node does not answer/);
    await expect(queryOnChainCounter(withCommand, stub("cardano_node_metrics_forging_enabled_int 0\n"))).rejects.toThrow(/the node reports no slot/);
  });

  test("a synced node's answer is read as one number; anything else is refused", async () => {
    const live = `cardano_node_metrics_slotNum_int ${slotAt(new Date(), "preprod")}\ncardano_node_metrics_connectedPeers_int 4\n`;
    expect(await queryOnChainCounter(withCommand, stub(live))).toBe(7);
    await expect(queryOnChainCounter(withCommand, stub(live, "null\n"))).rejects.toThrow(/exited 0 and printed "null"/);
  });
});
