/**
 * The SSH algorithms pool-ops negotiates: ssh2 1.17's defaults minus what OpenSSH itself has retired. ssh2's defaults
 * (`lib/protocol/constants.js`, DEFAULT_SERVER_HOST_KEY and DEFAULT_MAC) still offer the `ssh-rsa` host key
 * signature (RSA with SHA-1) and `hmac-sha1`/`hmac-sha1-etm`; OpenSSH 8.8 disabled `ssh-rsa` signatures by default
 * (release notes, 2021-09-26) and Debian 12's sshd offers neither. An RSA host key is still accepted, with the SHA-2
 * signature algorithms of RFC 8332 (`rsa-sha2-512`, `rsa-sha2-256`) only.
 */

/** Removed from ssh2's defaults in every category (regular expressions are matched against ssh2's supported names). */
const RETIRED = {
  serverHostKey: ["ssh-rsa", "ssh-dss"],
  hmac: [/sha1/, /md5/, /ripemd/, /-96$/],
  kex: [/-sha1$/],
  cipher: [/-cbc$/, /arcfour/],
} as const;

/** Host key algorithms that can present a key of a known_hosts key type (RSA keys only with SHA-2 signatures). */
export function hostKeyAlgorithmsFor(keyType: string): string[] {
  if (keyType === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256"];
  if (keyType === "ssh-dss") return [];
  return [keyType];
}

export interface Ssh2Algorithms {
  readonly serverHostKey: string[] | { remove: readonly string[] };
  readonly hmac: { remove: ReadonlyArray<string | RegExp> };
  readonly kex: { remove: ReadonlyArray<string | RegExp> };
  readonly cipher: { remove: ReadonlyArray<string | RegExp> };
}

/**
 * ssh2's `algorithms` option. With `hostKeyTypes` (the types known_hosts lists for the host) only those are offered,
 * as OpenSSH does, so a host with several keys presents the one we can check.
 */
export function sshAlgorithms(hostKeyTypes: readonly string[] = []): Ssh2Algorithms {
  const offered = [...new Set(hostKeyTypes.flatMap(hostKeyAlgorithmsFor))];
  return {
    serverHostKey: offered.length > 0 ? offered : { remove: RETIRED.serverHostKey },
    hmac: { remove: RETIRED.hmac },
    kex: { remove: RETIRED.kex },
    cipher: { remove: RETIRED.cipher },
  };
}

/**
 * The signature hash an RSA user key may sign with: SHA-2 only. ssh2 picks SHA-1 (`ssh-rsa`) when a server does not
 * advertise `server-sig-algs` (client.js getKeyAlgos); pool-ops refuses to sign then, and the login fails clearly.
 */
export function rsaUserSignatureAllowed(hash: string | undefined): boolean {
  return hash === "sha256" || hash === "sha512";
}
