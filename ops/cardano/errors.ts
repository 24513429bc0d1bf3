/**
 * An expected failure about key material: a wrong, damaged or mismatched file or secret.
 * The message always starts with the source (file name or secret id) and says what was expected,
 * e.g. `kes.skey: KES signing key must be 608 bytes, got 600`. It never contains key bytes.
 */
export class KeyMaterialError extends Error {
  override readonly name = "KeyMaterialError";
  constructor(
    /** File path, secret id or other label the bad material came from. */
    readonly source: string,
    /** What was wrong, without the source prefix. */
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
  }
}
