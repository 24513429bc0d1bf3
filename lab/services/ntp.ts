/**
 * An NTP server's reply (RFC 5905 §7.3) for the lab's stand-in of the Amazon Time Sync Service (169.254.169.123): the
 * machine's own clock, which every lab machine's kernel shares, served at stratum 3 as Amazon's is. Pure: the request
 * bytes and the receive time in, the reply bytes out.
 */

/** Seconds from the NTP era (1900-01-01) to the Unix epoch. */
const NTP_UNIX_OFFSET = 2_208_988_800;

function writeTimestamp(buffer: Buffer, offset: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET;
  const fraction = Math.floor(((unixMs % 1000) / 1000) * 2 ** 32);
  buffer.writeUInt32BE(seconds >>> 0, offset);
  buffer.writeUInt32BE(fraction >>> 0, offset + 4);
}

/** The server's reply to a client (mode 3) request, or undefined for anything else. */
export function ntpReply(request: Buffer, receivedAtMs: number, nowMs: number = Date.now()): Buffer | undefined {
  if (request.length < 48) return undefined;
  const version = (request[0]! >> 3) & 0x07;
  const mode = request[0]! & 0x07;
  if (mode !== 3 || version < 1 || version > 4) return undefined;
  const reply = Buffer.alloc(48);
  reply[0] = (0 << 6) | (version << 3) | 4; // leap 0, the client's version, mode 4 (server)
  reply[1] = 3; // stratum 3, as the Amazon Time Sync Service answers
  reply[2] = request[2]!; // poll: the client's
  reply.writeInt8(-20, 3); // precision ~1 µs
  reply.writeUInt32BE(0x00000010, 4); // root delay (16/65536 s)
  reply.writeUInt32BE(0x00000010, 8); // root dispersion
  reply.write("LAB\0", 12, "latin1"); // reference id
  writeTimestamp(reply, 16, nowMs); // reference time
  request.copy(reply, 24, 40, 48); // origin = the client's transmit time
  writeTimestamp(reply, 32, receivedAtMs);
  writeTimestamp(reply, 40, nowMs);
  return reply;
}
