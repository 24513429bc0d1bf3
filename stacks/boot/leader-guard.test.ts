/**
 * The leader guard (stacks/boot/leader-guard.sh) run for real on temp files, with stand-ins for the two tools it calls
 * on a host — curl (the metadata service) and the AWS CLI (SSM, Secrets Manager) — first on PATH. Every way but a
 * readable record naming this host ends as a standby; the leader gets its credentials in the active paths.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";

const GUARD = join(import.meta.dirname, "leader-guard.sh");
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
const uid = process.getuid?.() ?? 0;
const user = execFileSync("id", ["-un"], { encoding: "utf8" }).trim();
const group = execFileSync("id", ["-gn"], { encoding: "utf8" }).trim();

interface Scenario {
  /** What SSM answers for the leader record; undefined: the call fails. */
  readonly record?: string;
  readonly imds?: boolean;
  readonly secrets?: boolean;
  /**
   * The KES key secret's version ids (the op cert's current one is always `pair-2`): @default ["pair-2"], the pair
   * written under one id. Without `pair-2`, the pair was written apart (an older pool-ops).
   */
  readonly kesVersions?: readonly string[];
  /** Reading the KES key at a version fails with another error than "not found" (throttled, denied). */
  readonly kesVersionError?: boolean;
  /** Credential files already in the active paths (an old leader coming back). */
  readonly activeBefore?: boolean;
  /** Links planted in the node home (by a node user that once owned a directory there): name → target. */
  readonly planted?: Readonly<Record<string, string>>;
}

/** Secrets Manager as the guard sees it: versions by id, the op cert's current version `pair-2`. */
function secretsStub(s: Scenario): string {
  const versions = ` ${(s.kesVersions ?? ["pair-2"]).join(" ")} `;
  return [
    'id=""; ver=""; query=""',
    'while [ $# -gt 0 ]; do case "$1" in --secret-id) id=$2; shift ;; --version-id) ver=$2; shift ;; --query) query=$2; shift ;; esac; shift; done',
    'if [ "$query" = VersionId ]; then echo pair-2; exit 0; fi',
    `if [ -n "$ver" ] && [ "$id" = pool/hot/kes ]; then ${s.kesVersionError ? 'echo "An error occurred (ThrottlingException)" >&2; exit 254' : `case "${versions}" in *" $ver "*) ;; *) echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation" >&2; exit 254 ;; esac`}; fi`,
    'echo "secret of $id${ver:+ at $ver}"',
  ].join("\n");
}

function runGuard(s: Scenario) {
  const root = mkdtempSync(join(tmpdir(), "guard-"));
  roots.push(root);
  const home = join(root, "opt-cardano");
  const stubs = join(root, "stubs");
  mkdirSync(join(home, "config", "boot"), { recursive: true });
  mkdirSync(stubs);
  writeFileSync(join(home, "config", "boot", "env.leader"), 'NODE_MODE=leader\nNODE_ARGS="--shelley-kes-key /k"\n');
  writeFileSync(join(home, "config", "boot", "env.standby"), 'NODE_MODE=standby\nNODE_ARGS="--port 3001"\n');
  if (s.activeBefore) {
    mkdirSync(join(home, "keys"), { recursive: true });
    for (const f of ["kes.skey", "vrf.skey", "node.cert"]) writeFileSync(join(home, "keys", f), `old ${f}\n`);
  }
  for (const [at, to] of Object.entries(s.planted ?? {})) {
    mkdirSync(dirname(join(home, at)), { recursive: true });
    symlinkSync(to, join(home, at));
    lchownSync(join(home, at), 12345, 12345);
  }
  const settings = join(root, "pool-node");
  writeFileSync(
    settings,
    [`HOST_NAME='producer-1'`, `NODE_HOME='${home}'`, `NODE_USER='${user}'`, `NODE_GROUP='${group}'`, `NODE_BIN_DIR='${join(root, "bin")}'`, `LEADER_PARAMETER='/pool/leader'`,
      `SECRET_KES_SIGNING_KEY='pool/hot/kes'`, `SECRET_VRF_SIGNING_KEY='pool/hot/vrf'`, `SECRET_OPCERT='pool/hot/opcert'`, ""].join("\n"),
  );
  const stub = (name: string, body: string) => {
    writeFileSync(join(stubs, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(stubs, name), 0o755);
  };
  stub("curl", s.imds === false ? "exit 7" : 'case "$*" in *api/token*) echo token ;; *region*) echo eu-west-1 ;; *) exit 22 ;; esac');
  stub(
    "aws",
    [
      'case "$*" in',
      `  *ssm*get-parameter*) ${s.record === undefined ? "echo 'AccessDenied' >&2; exit 254" : `echo ${s.record}`} ;;`,
      `  *secretsmanager*get-secret-value*) ${s.secrets === false ? "exit 254" : secretsStub(s)} ;;`,
      "  *) exit 2 ;;",
      "esac",
    ].join("\n"),
  );
  const run = spawnSync("sh", [GUARD], { env: { PATH: `${stubs}:/usr/bin:/bin`, POOL_NODE_SETTINGS: settings }, encoding: "utf8" });
  const code = run.status;
  const stderr = run.stderr;
  const read = (p: string) => (existsSync(join(home, p)) ? readFileSync(join(home, p), "utf8") : undefined);
  return { code, stderr, env: read("config/cardano-node.env"), active: read("keys/kes.skey"), held: read("keys/standby/kes.skey"), heldCert: read("keys/standby/node.cert"), home };
}

describe.skipIf(uid !== 0)(`the leader guard on every producer boot${uid !== 0 ? " [skipped: it sets owners: run as root]" : ""}`, () => {
  test("the record names this host: credentials fetched into the active paths, the leader environment", () => {
    const r = runGuard({ record: "producer-1" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.env).toMatch(/^NODE_MODE=leader$/m);
    expect(r.active).toBe("secret of pool/hot/kes at pair-2\n");
    expect(r.held).toBeUndefined();
    // config/host-layout.ts nodeFileModes: directories root's 0750, the KES key and cert 0640, the VRF key 0600.
    const mode = (p: string) => (statSync(join(r.home, p)).mode & 0o777).toString(8);
    expect(["keys", "keys/standby", "keys/kes.skey", "keys/vrf.skey", "keys/node.cert", "config/cardano-node.env"].map(mode)).toEqual(["750", "750", "640", "600", "640", "640"]);
  });

  test("the KES key is the one of the op cert's current version id: a boot during a rotation gets a pair that belongs together", () => {
    const r = runGuard({ record: "producer-1", kesVersions: ["pair-1", "pair-2", "pair-3"] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.active).toBe("secret of pool/hot/kes at pair-2\n");
    expect(readFileSync(join(r.home, "keys/node.cert"), "utf8")).toBe("secret of pool/hot/opcert at pair-2\n");
  });

  test("a pair written apart by an older pool-ops (no KES version of the cert's id): the current KES key, and it says so", () => {
    const r = runGuard({ record: "producer-1", kesVersions: ["legacy-7"] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.env).toMatch(/^NODE_MODE=leader$/m);
    expect(r.active).toBe("secret of pool/hot/kes\n");
    expect(r.stderr).toMatch(/the KES key secret has no version pair-2 \(written apart from its op cert by an older pool-ops\): taking its current version/);
  });

  test("any other failure reading the KES key of the pair fails closed (standby), never mixing versions", () => {
    const r = runGuard({ record: "producer-1", kesVersionError: true });
    expect(r.env).toMatch(/^NODE_MODE=standby$/m);
    expect(r.active).toBeUndefined();
    expect(r.stderr).toMatch(/this host leads, but its credentials could not be fetched/);
  });

  test("a keys directory that is a symbolic link stops the boot: it is never followed", () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "guard-elsewhere-"));
    roots.push(elsewhere);
    const linked = runGuard({ record: "producer-1", planted: { "keys": elsewhere } });
    expect(linked.code).toBe(1);
    expect(linked.stderr).toMatch(/keys is a symbolic link: refusing to follow it/);
    expect(statSync(elsewhere).mode & 0o777).toBe(0o700);
  });

  test("the record names the other producer: standby environment, credentials held aside (an old leader coming back)", () => {
    const r = runGuard({ record: "producer-2", activeBefore: true });
    expect(r.code).toBe(0);
    expect(r.env).toMatch(/^NODE_MODE=standby$/m);
    expect(r.env).not.toMatch(/shelley/);
    expect(r.active).toBeUndefined();
    expect(r.held).toBe("secret of pool/hot/kes at pair-2\n");
  });

  test("fails closed: an unreadable record, no metadata service, unreadable secrets all boot a standby", () => {
    for (const scenario of [{ activeBefore: true }, { record: "producer-1", imds: false, activeBefore: true }, { record: "producer-1", secrets: false }] as Scenario[]) {
      const r = runGuard(scenario);
      expect(r.code, JSON.stringify(scenario)).toBe(0);
      expect(r.env, JSON.stringify(scenario)).toMatch(/^NODE_MODE=standby$/m);
      expect(r.active, JSON.stringify(scenario)).toBeUndefined();
    }
    // It says why.
    expect(runGuard({}).stderr).toMatch(/standing by: cannot read \/pool\/leader \(failing closed\)/);
    expect(runGuard({ record: "producer-2" }).stderr).toMatch(/standing by: \/pool\/leader names producer-2/);
    expect(runGuard({ record: "producer-1", secrets: false }).stderr).toMatch(/this host leads, but its credentials could not be fetched/);
  });
});
