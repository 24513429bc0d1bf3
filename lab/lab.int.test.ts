/** The lab itself: several labs side by side on distinct subnets, and lab down leaves nothing behind. */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, uniqueLabId } from "./harness";
import { labDown, labUp } from "./lab";

const netns = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
const running = (pid: number) => existsSync(`/proc/${pid}/stat`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
const links = () => execFileSync("ip", ["-br", "link"], { encoding: "utf8" });

describe.skipIf(LAB_SKIP)(`lab up / down${LAB_SKIP_NOTE}`, () => {
  it("two labs run side by side on distinct subnets, each reachable, and lab down removes everything each made", async () => {
    const [a, b] = await Promise.all([labUp({ id: uniqueLabId() }), labUp({ id: uniqueLabId() })]);
    try {
      expect(a.slot).not.toBe(b.slot);
      expect(a.privateCidr).not.toBe(b.privateCidr);
      const [pa, pb] = await Promise.all([runPoolOps(a, ["ping", "--json"]), runPoolOps(b, ["ping", "--json"])]);
      expect(pa.code, pa.stderr).toBe(0);
      expect(pb.code, pb.stderr).toBe(0);
      // The bastion does not forward: ip_forward stays 0 in its namespace.
      expect(execFileSync("ip", ["netns", "exec", `pl-${a.id}-bastion`, "cat", "/proc/sys/net/ipv4/ip_forward"], { encoding: "utf8" }).trim()).toBe("0");
    } finally {
      await labDown(a);
      await labDown(b);
    }
    for (const lab of [a, b]) {
      expect(netns()).not.toContain(`pl-${lab.id}-`);
      expect(links()).not.toMatch(new RegExp(`^${lab.operatorLink}[@ ]`, "m"));
      expect(existsSync(lab.dir)).toBe(false);
      expect(existsSync(`/run/pool-ops-lab/slot-${lab.slot}`)).toBe(false);
      expect(execFileSync("ip", ["route"], { encoding: "utf8" })).not.toContain(lab.privateCidr.split("/")[0]!);
      // Gone, or a zombie waiting for this test process (its parent) to reap it.
      for (const host of lab.hosts) expect(running(host.sshdPid)).toBe(false);
    }
  }, 60_000);

  it("refuses a bad lab id", async () => {
    await expect(labUp({ id: "Bad_Id" })).rejects.toThrow(/expected 1-8 lowercase letters or digits/);
  });
});
