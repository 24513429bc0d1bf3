/** POSIX single-quoting: safe for any bytes except NUL. Words that need no quoting are left bare for readability. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
