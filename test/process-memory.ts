/**
 * Searches this process's own memory (every readable mapping in /proc/self/maps, read through /proc/self/mem) for
 * secret byte strings, without ever holding one: each needle comes masked (needle XOR mask, mask random), and a
 * candidate is compared byte by byte as `memory[i] ^ mask[j] === masked[j]`. Only the first PREFIX bytes exist
 * unmasked (for Buffer.indexOf's speed), which cannot make a full-length match.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";

/** A secret to look for, masked: `masked[i] = secret[i] ^ mask[i]`. */
export interface MaskedNeedle {
  readonly name: string;
  readonly masked: Uint8Array;
  readonly mask: Uint8Array;
}

export interface MemorySearch {
  /** Names of the needles found, with the address of their first occurrence. */
  readonly found: readonly { name: string; address: string }[];
  /** Bytes read from readable mappings (a search that read nothing proves nothing). */
  readonly bytesRead: number;
}

const PREFIX = 4;
const CHUNK = 4 << 20;
const PAGE = 4096;

interface Mapping {
  readonly start: number;
  readonly end: number;
  readonly label: string;
}

function readableMappings(): Mapping[] {
  const rows = readFileSync("/proc/self/maps", "utf8").trim().split("\n");
  const out: Mapping[] = [];
  for (const row of rows) {
    const [range, perms, , , , ...rest] = row.split(/\s+/);
    const label = rest.join(" ");
    // [vvar]/[vvar_vclock] are kernel pages that /proc/self/mem refuses to read; [vsyscall] is execute-only.
    if (!perms?.startsWith("r") || label.startsWith("[vvar") || label === "[vsyscall]") continue;
    const [start, end] = range!.split("-").map((hex) => Number.parseInt(hex, 16));
    out.push({ start: start!, end: end!, label });
  }
  return out;
}

/** Bytes at [position, position + length) read into `buffer`; a range the kernel refuses is read a page at a time. */
function readRange(fd: number, buffer: Buffer, length: number, position: number): number {
  try {
    return readSync(fd, buffer, 0, length, position);
  } catch {
    let read = 0;
    for (let offset = 0; offset < length; offset += PAGE) {
      try {
        read += readSync(fd, buffer, offset, Math.min(PAGE, length - offset), position + offset);
      } catch {
        buffer.fill(0, offset, Math.min(offset + PAGE, length));
      }
    }
    return read;
  }
}

function matchesAt(memory: Buffer, at: number, needle: MaskedNeedle): boolean {
  if (at + needle.masked.length > memory.length) return false;
  for (let j = PREFIX; j < needle.masked.length; j++) {
    if ((memory[at + j]! ^ needle.mask[j]!) !== needle.masked[j]) return false;
  }
  return true;
}

export function searchOwnMemory(needles: readonly MaskedNeedle[]): MemorySearch {
  const longest = Math.max(...needles.map((n) => n.masked.length));
  const prefixes = needles.map((n) => Buffer.from(Array.from({ length: PREFIX }, (_, i) => n.masked[i]! ^ n.mask[i]!)));
  const found = new Map<string, string>();
  const buffer = Buffer.allocUnsafeSlow(CHUNK + longest);
  const fd = openSync("/proc/self/mem", "r");
  let bytesRead = 0;
  try {
    for (const mapping of readableMappings()) {
      // Chunks overlap by the longest needle, so one spanning a chunk boundary is seen whole.
      for (let position = mapping.start; position < mapping.end; position += CHUNK) {
        const length = Math.min(CHUNK + longest, mapping.end - position);
        const read = readRange(fd, buffer, length, position);
        bytesRead += Math.min(read, CHUNK);
        const view = buffer.subarray(0, length);
        needles.forEach((needle, k) => {
          if (found.has(needle.name)) return;
          for (let at = view.indexOf(prefixes[k]!); at !== -1; at = view.indexOf(prefixes[k]!, at + 1)) {
            if (matchesAt(view, at, needle)) {
              found.set(needle.name, `0x${(position + at).toString(16)} (${mapping.label || "anonymous"})`);
              return;
            }
          }
        });
      }
    }
  } finally {
    closeSync(fd);
  }
  return { found: [...found].map(([name, address]) => ({ name, address })), bytesRead };
}
