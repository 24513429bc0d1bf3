import { describe, expect, test } from "vitest";
import { ntpReply } from "./ntp";

describe("the lab's NTP stand-in", () => {
  test("answers a client request as a stratum-3 server, echoing its transmit time, with the clock's time", () => {
    const request = Buffer.alloc(48);
    request[0] = (4 << 3) | 3;
    request.writeUInt32BE(0xdeadbeef, 40);
    const now = Date.UTC(2026, 11, 1, 12, 0, 0, 500);
    const reply = ntpReply(request, now - 1, now)!;
    expect(reply[0]! & 7).toBe(4);
    expect((reply[0]! >> 3) & 7).toBe(4);
    expect(reply[1]).toBe(3);
    expect(reply.readUInt32BE(24)).toBe(0xdeadbeef);
    expect(reply.readUInt32BE(40) - 2_208_988_800).toBe(Math.floor(now / 1000));
    expect(reply.readUInt32BE(44) / 2 ** 32).toBeCloseTo(0.5, 3);
  });

  test("ignores what is not a client request", () => {
    expect(ntpReply(Buffer.alloc(10), 0)).toBeUndefined();
    const server = Buffer.alloc(48);
    server[0] = (4 << 3) | 4;
    expect(ntpReply(server, 0)).toBeUndefined();
  });
});
