import { describe, expect, it } from "vitest";
import { agentSocketPath, lineReader } from "./agent-protocol";

describe("agent socket path", () => {
  const identity = { user: "admin", authId: "key:SHA256:AAAA", knownHostsFile: "/home/op/.ssh/known_hosts" };

  it("is the same for the same user, key and known_hosts file", () => {
    expect(agentSocketPath("/s", identity)).toBe(agentSocketPath("/s", { ...identity }));
    expect(agentSocketPath("/s", identity)).toMatch(/^\/s\/agent\/[0-9a-f]{16}\.sock$/);
  });

  it("differs when any of them differs, so no command borrows connections made under other trust", () => {
    const base = agentSocketPath("/s", identity);
    expect(agentSocketPath("/s", { ...identity, user: "ubuntu" })).not.toBe(base);
    expect(agentSocketPath("/s", { ...identity, authId: "key:SHA256:BBBB" })).not.toBe(base);
    expect(agentSocketPath("/s", { ...identity, authId: "ssh-agent:/tmp/agent.1" })).not.toBe(base);
    expect(agentSocketPath("/s", { ...identity, knownHostsFile: "/tmp/known_hosts" })).not.toBe(base);
  });

  it("does not carry the identity in its name", () => {
    expect(agentSocketPath("/s", identity)).not.toContain("AAAA");
  });
});

describe("lineReader", () => {
  it("yields whole lines across chunk boundaries and skips blank ones", () => {
    const lines: string[] = [];
    const feed = lineReader((l) => lines.push(l));
    feed(Buffer.from('{"id":1}\n{"id"'));
    expect(lines).toEqual(['{"id":1}']);
    feed(Buffer.from(':2}\n\n{"id":3}\n'));
    expect(lines).toEqual(['{"id":1}', '{"id":2}', '{"id":3}']);
  });

  it("decodes a character split across chunks", () => {
    const lines: string[] = [];
    const feed = lineReader((l) => lines.push(l));
    const bytes = Buffer.from('{"stderr":"✓ ok"}\n');
    const cut = bytes.indexOf(Buffer.from("✓")) + 1; // inside the three bytes of ✓
    feed(bytes.subarray(0, cut));
    feed(bytes.subarray(cut));
    expect(lines).toEqual(['{"stderr":"✓ ok"}']);
  });
});

describe("lineReader limits", () => {
  it("stops at a line longer than the limit, without buffering the rest", () => {
    const lines: string[] = [];
    let overflowed = 0;
    const feed = lineReader((l) => lines.push(l), { maxLineChars: 10, onOverflow: () => overflowed++ });
    feed(Buffer.from("short\n"));
    feed(Buffer.from("x".repeat(8)));
    feed(Buffer.from("x".repeat(8)));
    feed(Buffer.from("\nafter\n"));
    expect(lines).toEqual(["short"]);
    expect(overflowed).toBe(1);
  });
});
