/**
 * Where the pool's hot pair (KES signing key + op cert) lives, and whether every copy is the same pair: the leader's
 * active paths, the standby's held paths, and the two hot secrets the boot path reads. A rotation is finished only
 * when all three agree (and the leader's node runs the cert); an interrupted rotation, a rotation of one producer
 * (`--only`) or a hand-made change leaves them apart, and the next rotate-kes says so and finishes it.
 *
 * Copies are compared by fingerprint (SHA-256 of each file's CBOR bytes, i.e. the text envelope's `cborHex`), so no
 * key leaves a host to be compared; on the host the files are read without following a link (O_NOFOLLOW), so a link
 * the node user planted cannot make root hash a file of its choosing.
 */
import { createHash } from "node:crypto";
import type { CredentialFiles } from "../../config/host-layout";
import type { Connection } from "../remote/connection";
import { OpsError } from "../remote/result";
import { shellQuote } from "../remote/shell";

/** One copy's fingerprints; `undefined` where the file (or secret) is missing or not a text envelope. */
export interface PairCopy {
  /** `producer-1 (active)`, `hot secrets`… */
  readonly where: string;
  readonly kes?: string | undefined;
  readonly cert?: string | undefined;
}

export interface PairAgreement {
  readonly same: boolean;
  /** One line per copy, naming its fingerprints (short) so an operator sees which copies differ. */
  readonly lines: string[];
}

const HOST_SCRIPT = `
import hashlib, json, os, sys
out = {}
for key, path in (("kes", sys.argv[1]), ("cert", sys.argv[2])):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            out[key] = hashlib.sha256(bytes.fromhex(json.load(f)["cborHex"])).hexdigest()
    except (OSError, ValueError, KeyError, TypeError):
        out[key] = None
print(json.dumps(out))
`;

/** SHA-256 of a text envelope's CBOR bytes, as the host script computes it; `undefined` if it is not one. */
export function envelopeFingerprint(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const hex = (JSON.parse(text) as { cborHex?: unknown }).cborHex;
    if (typeof hex !== "string" || !/^([0-9a-fA-F]{2})*$/.test(hex)) return undefined;
    return createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");
  } catch {
    return undefined;
  }
}

/** Fingerprints of the pair at `files` on a producer (one SSH command, run as root: the key is the node's, 0600). */
export async function hostPairCopy(connection: Connection, files: CredentialFiles, where: string): Promise<PairCopy> {
  const r = await connection.run(`exec python3 - ${shellQuote(files.kesKey)} ${shellQuote(files.opcert)}`, {
    stdin: HOST_SCRIPT,
    step: "fingerprint the hot pair",
    label: `fingerprint ${files.kesKey}, ${files.opcert}`,
  });
  if (r.exitCode !== 0) throw new OpsError(connection.name, "fingerprint the hot pair", `exit ${r.exitCode}: ${r.stderr.toString().trim()}`, "python3 is on every Debian image: check the host");
  const parsed = JSON.parse(r.stdout.toString()) as { kes: string | null; cert: string | null };
  return { where, kes: parsed.kes ?? undefined, cert: parsed.cert ?? undefined };
}

export function secretPairCopy(kesText: string | undefined, certText: string | undefined): PairCopy {
  return { where: "hot secrets", kes: envelopeFingerprint(kesText), cert: envelopeFingerprint(certText) };
}

/** Whether every copy holds one and the same pair (each file present in each copy). */
export function comparePairs(copies: readonly PairCopy[]): PairAgreement {
  const first = copies[0];
  const same = first !== undefined && copies.every((c) => c.kes !== undefined && c.cert !== undefined && c.kes === first.kes && c.cert === first.cert);
  const short = (f: string | undefined) => (f === undefined ? "missing" : f.slice(0, 12));
  return { same, lines: copies.map((c) => `${c.where}: KES key ${short(c.kes)}, op cert ${short(c.cert)}`) };
}
