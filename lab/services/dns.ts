/**
 * A minimal DNS responder (RFC 1035) for the lab's resolver stand-in: A queries for known names get their
 * addresses, other types for known names an empty answer, unknown names NXDOMAIN. Pure: bytes in, bytes out.
 */

export interface DnsQuestion {
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly klass: number;
  /** Where the question section ends (the reply repeats it verbatim). */
  readonly end: number;
  readonly recursionDesired: boolean;
}

const TYPE_A = 1;
const CLASS_IN = 1;

export function parseDnsQuestion(message: Buffer): DnsQuestion | undefined {
  if (message.length < 12) return undefined;
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response, not a query
  if (message.readUInt16BE(4) !== 1) return undefined; // exactly one question
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    if (offset >= message.length) return undefined;
    const length = message[offset] as number;
    if (length === 0) {
      offset++;
      break;
    }
    if (length > 63 || offset + 1 + length > message.length) return undefined; // no compression in questions here
    labels.push(message.subarray(offset + 1, offset + 1 + length).toString("latin1").toLowerCase());
    offset += 1 + length;
  }
  if (offset + 4 > message.length) return undefined;
  return { id, name: labels.join("."), type: message.readUInt16BE(offset), klass: message.readUInt16BE(offset + 2), end: offset + 4, recursionDesired: Boolean(flags & 0x0100) };
}

/** The reply to a query, or undefined for a packet that is not a query this responder understands. */
export function answerDnsQuery(message: Buffer, lookup: (name: string) => readonly string[] | undefined, ttlSeconds = 60): Buffer | undefined {
  const question = parseDnsQuestion(message);
  if (!question) return undefined;
  const addresses = lookup(question.name.replace(/\.$/, ""));
  const answers = addresses && question.type === TYPE_A && question.klass === CLASS_IN ? addresses : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(question.id, 0);
  // QR=1, opcode 0, AA=1, RD copied, RA=1; RCODE 3 (NXDOMAIN) for names it does not know.
  header.writeUInt16BE(0x8400 | (question.recursionDesired ? 0x0100 : 0) | 0x0080 | (addresses ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const records = answers.map((address) => {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(CLASS_IN, 4);
    record.writeUInt32BE(ttlSeconds, 6);
    record.writeUInt16BE(4, 10);
    address.split(".").forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
    return record;
  });
  return Buffer.concat([header, message.subarray(12, question.end), ...records]);
}
