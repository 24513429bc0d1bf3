import { describe, expect, test } from "vitest";
import { metricValue, parseMetrics } from "./node-metrics";

describe("node metrics", () => {
  test("parses the text format and accepts both spellings", () => {
    const m = parseMetrics("# TYPE x gauge\ncardano_node_metrics_forging_enabled_int 1\ncardano_node_metrics_Forge_adopted_counter 3\ncardano_node_metrics_remainingKESPeriods 61\nnode_filesystem_avail_bytes{mountpoint=\"/\"} 1.5e9\n");
    expect(metricValue(m, "forging_enabled")).toBe(1);
    expect(metricValue(m, "Forge_adopted")).toBe(3);
    expect(metricValue(m, "remainingKESPeriods")).toBe(61);
    expect(metricValue(m, "node_filesystem_avail_bytes")).toBe(1.5e9);
    expect(metricValue(m, "slotNum")).toBeUndefined();
  });
});
