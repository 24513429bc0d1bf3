import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { MemoryJournal } from "../../test/memory-journal";
import type { OpsContext } from "../context";
import type { LeaseGuard } from "../lease/lease-guard";
import { getRecovery } from "../lease/recoveries";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  generateKeySet,
  importFilesIn,
  importKeys,
  issueOpcertFiles,
  keysCommand,
  KeysCommandError,
  nodeKeysIo,
  showFilesIn,
  showKeys,
} from "./keys";
import {
  coldVerificationKey,
  encodeCborBytes,
  generateKesKey,
  generateVrfKey,
  issueOperationalCertificate,
  KeyMaterialError,
  kesPeriodAt,
  kesVerificationKey,
  readColdSigningKey,
  readColdVerificationKey,
  readKesSigningKey,
  readKesVerificationKey,
  readOpcertCounter,
  readVerifiedOperationalCertificate,
  readVrfSigningKey,
  readVrfVerificationKey,
  writeColdSigningKey,
  writeColdVerificationKey,
  writeKesSigningKey,
  writeKesVerificationKey,
  writeOperationalCertificate,
  writeOpcertCounter,
  writeTextEnvelope,
  writeVrfSigningKey,
  writeVrfVerificationKey,
} from "../cardano";
import { MemorySecretStore } from "../aws/secret-store";
import { poolSecretNames } from "../../config/names";

const NOW = new Date("2026-11-24T12:00:00Z");
const deps = { io: nodeKeysIo, now: () => NOW };
const roots: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "pool-ops-keys-"));
  roots.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

/** Every file in a directory with its bytes, to prove nothing changed. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

async function generated(network: "preprod" | "preview" = "preprod") {
  const dir = join(tempDir(), "keys");
  const result = await generateKeySet({ network, outDir: dir }, deps);
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  return { dir, result, read };
}

describe("keys generate", () => {
  it("writes a full key set that reads back identically, with 0600 signing keys and a valid cert", async () => {
    const { dir, result, read } = await generated();
    expect(readdirSync(dir).sort()).toEqual(
      ["cold.counter", "cold.skey", "cold.vkey", "kes.skey", "kes.vkey", "node.cert", "vrf.skey", "vrf.vkey"],
    );
    for (const f of ["cold.skey", "vrf.skey", "kes.skey"]) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    const coldSk = readColdSigningKey(read("cold.skey"), "cold.skey");
    expect(writeColdSigningKey(coldSk)).toBe(read("cold.skey"));
    const coldVk = readColdVerificationKey(read("cold.vkey"), "cold.vkey");
    expect(coldVk).toEqual(coldVerificationKey(coldSk));
    expect(writeColdVerificationKey(coldVk)).toBe(read("cold.vkey"));
    const vrfSk = readVrfSigningKey(read("vrf.skey"), "vrf.skey");
    expect(writeVrfSigningKey(vrfSk)).toBe(read("vrf.skey"));
    expect(writeVrfVerificationKey(readVrfVerificationKey(read("vrf.vkey"), "vrf.vkey"))).toBe(read("vrf.vkey"));
    const kesSk = readKesSigningKey(read("kes.skey"), "kes.skey");
    expect(writeKesSigningKey(kesSk)).toBe(read("kes.skey"));
    const kesVk = readKesVerificationKey(read("kes.vkey"), "kes.vkey");
    expect(writeKesVerificationKey(kesVk)).toBe(read("kes.vkey"));
    expect(kesVerificationKey(kesSk)).toEqual(kesVk);

    const counter = readOpcertCounter(read("cold.counter"), "cold.counter");
    expect(counter).toEqual({ next: 1, coldVerificationKey: coldVk });
    expect(writeOpcertCounter(counter)).toBe(read("cold.counter"));
    const cert = readVerifiedOperationalCertificate(read("node.cert"), "node.cert", coldVk);
    expect(writeOperationalCertificate(cert)).toBe(read("node.cert"));
    expect(cert.counter).toBe(0);
    expect(cert.kesVerificationKey).toEqual(kesVk);
    expect(cert.kesPeriod).toBe(kesPeriodAt(NOW, "preprod"));
    expect(result.kesPeriod).toBe(cert.kesPeriod);
  });

  it("refuses mainnet and writes nothing", async () => {
    const dir = join(tempDir(), "main");
    await expect(generateKeySet({ network: "mainnet", outDir: dir }, deps)).rejects.toThrow(
      /keys generate makes keys for test networks only \(preprod, preview\)/,
    );
    expect(() => readdirSync(dir)).toThrow();
  });

  it("refuses to overwrite any existing key file, naming it, and writes nothing", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "node.cert"), "old cert\n");
    await expect(generateKeySet({ network: "preview", outDir: dir }, deps)).rejects.toThrow(
      `refusing to overwrite existing key files: ${join(dir, "node.cert")}`,
    );
    expect(readdirSync(dir)).toEqual(["node.cert"]);
  });

  it("the CLI refuses mainnet with a clear message and exit code 1, no stack trace", async () => {
    let out = "";
    let err = "";
    const cmd = keysCommand({ stdout: (t) => (out += t), stderr: (t) => (err += t), now: () => NOW });
    cmd.exitOverride();
    const before = process.exitCode;
    await cmd.parseAsync(["generate", "--network", "mainnet", "--out", join(tempDir(), "x")], { from: "user" });
    expect(process.exitCode).toBe(1);
    process.exitCode = before;
    expect(out).toBe("");
    expect(err).toMatch(/^error: keys generate makes keys for test networks only/);
    expect(err).not.toMatch(/\n\s+at /);
  });
});

describe("keys issue-opcert", () => {
  let set: Awaited<ReturnType<typeof generated>>;
  const period = kesPeriodAt(NOW, "preprod");
  beforeEach(async () => {
    set = await generated();
  });
  const options = (over: Partial<Parameters<typeof issueOpcertFiles>[0]> = {}) => ({
    kesVkeyFile: join(set.dir, "kes.vkey"),
    coldSkeyFile: join(set.dir, "cold.skey"),
    counterFile: join(set.dir, "cold.counter"),
    kesPeriod: period,
    outFile: join(set.dir, "node.cert"),
    network: "preprod" as const,
    ...over,
  });

  it("issues the same bytes cardano-cli would and advances the counter, leaving no temp files", async () => {
    const newKes = generateKesKey();
    writeFileSync(join(set.dir, "kes2.vkey"), writeKesVerificationKey(newKes.verificationKey));
    const result = await issueOpcertFiles(options({ kesVkeyFile: join(set.dir, "kes2.vkey") }), deps);
    expect(result).toMatchObject({ counter: 1, kesPeriod: period, nextCounter: 2 });

    const coldSk = readColdSigningKey(set.read("cold.skey"), "cold.skey");
    const expected = issueOperationalCertificate({
      kesVerificationKey: newKes.verificationKey,
      coldSigningKey: coldSk,
      counter: 1,
      kesPeriod: period,
    });
    expect(set.read("node.cert")).toBe(writeOperationalCertificate(expected));
    expect(set.read("cold.counter")).toBe(
      writeOpcertCounter({ next: 2, coldVerificationKey: coldVerificationKey(coldSk) }),
    );
    expect(JSON.parse(set.read("cold.counter")).description).toBe("Next certificate issue number: 2");
    readVerifiedOperationalCertificate(set.read("node.cert"), "node.cert", coldVerificationKey(coldSk));
    expect(readdirSync(set.dir).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("refuses a counter below the last issued one (stale counter file), writing nothing", async () => {
    const staleCounter = set.read("cold.counter"); // next 1
    await issueOpcertFiles(options(), deps); // cert counter 1, counter file 2
    writeFileSync(join(set.dir, "cold.counter"), staleCounter);
    const before = snapshot(set.dir);
    await expect(issueOpcertFiles(options(), deps)).rejects.toThrow(
      `${join(set.dir, "cold.counter")}: counter 1 is below the last issued one: ${join(set.dir, "node.cert")} ` +
        "already holds a certificate with counter 1",
    );
    expect(snapshot(set.dir)).toEqual(before);
  });

  it("refuses a counter below the last one seen on chain, writing nothing", async () => {
    const before = snapshot(set.dir);
    await expect(issueOpcertFiles(options({ lastIssuedCounter: 3 }), deps)).rejects.toThrow(
      `${join(set.dir, "cold.counter")}: counter 1 is below the last issued counter 3`,
    );
    expect(snapshot(set.dir)).toEqual(before);
  });

  it("refuses a VRF key given as the cold key, naming the file and both types, writing nothing", async () => {
    const before = snapshot(set.dir);
    await expect(issueOpcertFiles(options({ coldSkeyFile: join(set.dir, "vrf.skey") }), deps)).rejects.toThrow(
      `${join(set.dir, "vrf.skey")}: expected a text envelope of type StakePoolSigningKey_ed25519, got VrfSigningKey_PraosVRF`,
    );
    expect(snapshot(set.dir)).toEqual(before);
  });

  it("refuses a truncated KES key, writing nothing", async () => {
    const truncated = join(tempDir(), "kes.vkey");
    const vk = readKesVerificationKey(set.read("kes.vkey"), "kes.vkey");
    writeFileSync(truncated, writeTextEnvelope("KesVerificationKey_ed25519_kes_2^6", "", encodeCborBytes(vk.subarray(0, 31))));
    const before = snapshot(set.dir);
    await expect(issueOpcertFiles(options({ kesVkeyFile: truncated }), deps)).rejects.toThrow(
      `${truncated}: KES verification key must be 32 bytes, got 31`,
    );
    await expect(issueOpcertFiles(options({ kesVkeyFile: join(set.dir, "kes.skey") }), deps)).rejects.toThrow(
      /kes\.skey: expected a text envelope of type KesVerificationKey_ed25519_kes_2\^6, got KesSigningKey_ed25519_kes_2\^6$/,
    );
    expect(snapshot(set.dir)).toEqual(before);
  });

  it("refuses a start period in the future or already expired, writing nothing", async () => {
    const before = snapshot(set.dir);
    await expect(issueOpcertFiles(options({ kesPeriod: period + 1 }), deps)).rejects.toThrow(
      `--kes-period: KES period ${period + 1} is in the future: the current preprod KES period is ${period}`,
    );
    await expect(issueOpcertFiles(options({ kesPeriod: period - 62 }), deps)).rejects.toThrow(/is too old/);
    expect(snapshot(set.dir)).toEqual(before);
  });

  it("refuses a counter of another cold key, and an --out file that is not an op cert", async () => {
    const other = await generated();
    const before = snapshot(set.dir);
    await expect(issueOpcertFiles(options({ counterFile: join(other.dir, "cold.counter") }), deps)).rejects.toThrow(
      /cold\.counter: counter belongs to another cold key \(pool pool1.*\), not to the key in .*cold\.skey/,
    );
    await expect(issueOpcertFiles(options({ outFile: join(set.dir, "kes.skey") }), deps)).rejects.toThrow(
      /kes\.skey: exists and is not an operational certificate; refusing to overwrite it/,
    );
    expect(snapshot(set.dir)).toEqual(before);
  });

  it("through the CLI: --kes-period parsed, JSON output, cold key never printed", async () => {
    let out = "";
    const cmd = keysCommand({ stdout: (t) => (out += t), stderr: (t) => (out += t), now: () => NOW });
    cmd.exitOverride();
    await cmd.parseAsync(
      ["issue-opcert", "--kes-vkey", join(set.dir, "kes.vkey"), "--cold-skey", join(set.dir, "cold.skey"),
        "--counter-file", join(set.dir, "cold.counter"), "--kes-period", String(period), "--out",
        join(set.dir, "node.cert"), "--network", "preprod", "--json"],
      { from: "user" },
    );
    expect(JSON.parse(out)).toMatchObject({ counter: 1, nextCounter: 2, kesPeriod: period });
    const coldSkHex = bytesToHex(readColdSigningKey(set.read("cold.skey"), "cold.skey"));
    expect(out).not.toContain(coldSkHex);
  });
});

describe("keys import and show (in-memory secret store)", () => {
  const names = poolSecretNames("sandstone");
  const storeWithSecrets = () => new MemorySecretStore(Object.values(names));

  it("validates, puts cold and hot secrets, and show reads the same summary from files and secrets", async () => {
    const set = await generated("preview");
    const store = storeWithSecrets();
    const result = await importKeys(
      { files: importFilesIn(set.dir), pool: "sandstone", dryRun: false, network: "preview" },
      { ...deps, store },
    );
    expect(result.entries.map((e) => [e.tier, e.secretId])).toEqual([
      ["cold", "sandstone/cold/opcert-counter"],
      ["cold", "sandstone/cold/signing-key"],
      ["hot", "sandstone/hot/kes-signing-key"],
      ["hot", "sandstone/hot/vrf-signing-key"],
      ["hot", "sandstone/hot/opcert"],
    ]);
    expect((await store.get(names.coldSigningKey)).value).toBe(set.read("cold.skey"));
    expect((await store.get(names.opcertCounter)).value).toBe(set.read("cold.counter"));
    expect((await store.get(names.kesSigningKey)).value).toBe(set.read("kes.skey"));
    expect((await store.get(names.vrfSigningKey)).value).toBe(set.read("vrf.skey"));
    expect((await store.get(names.opcert)).value).toBe(set.read("node.cert"));
    expect(result.reminder).toMatch(/offline, encrypted backup of the cold key.*shred -u/);

    const fromFiles = await showKeys(showFilesIn(set.dir), "preview", deps);
    const fromSecrets = await showKeys({ kind: "secrets", pool: "sandstone", store }, "preview", deps);
    expect({ ...fromSecrets, source: "" }).toEqual({ ...fromFiles, source: "" });
    expect(fromFiles).toMatchObject({
      poolIdBech32: set.result.poolIdBech32,
      counterNext: 1,
      warnings: [],
      opcert: { counter: 0, startPeriod: kesPeriodAt(NOW, "preview"), status: "valid", periodsLeft: 62 },
    });
    // 62 periods of 1.5 days from the start of the current period
    expect(fromFiles.opcert.daysLeft).toBeGreaterThan(91.5);
    expect(fromFiles.opcert.daysLeft).toBeLessThanOrEqual(93);
  });

  it("dry run validates and lists, and puts nothing", async () => {
    const set = await generated();
    const store = storeWithSecrets();
    const result = await importKeys({ files: importFilesIn(set.dir), pool: "sandstone", dryRun: true }, { ...deps, store });
    expect(result.entries).toHaveLength(5);
    expect(result.entries.every((e) => e.versionId === undefined)).toBe(true);
    await expect(store.get(names.coldSigningKey)).rejects.toThrow(/not found/);
  });

  it("refuses a key set whose pieces do not belong together, putting nothing", async () => {
    const set = await generated();
    const other = await generated();
    const cases: [Partial<ReturnType<typeof importFilesIn>>, RegExp][] = [
      [{ kesSigningKey: join(other.dir, "kes.skey") }, /kes\.skey: KES signing key does not match the KES verification key in .*node\.cert/],
      [{ opcert: join(other.dir, "node.cert") }, /node\.cert: op cert was issued by another cold key/],
      [{ opcertCounter: join(other.dir, "cold.counter") }, /cold\.counter: counter belongs to another cold key/],
      [{ coldSigningKey: join(set.dir, "vrf.skey") }, /vrf\.skey: expected a text envelope of type StakePoolSigningKey_ed25519, got VrfSigningKey_PraosVRF/],
    ];
    for (const [override, message] of cases) {
      const store = storeWithSecrets();
      await expect(
        importKeys({ files: { ...importFilesIn(set.dir), ...override }, pool: "sandstone", dryRun: false }, { ...deps, store }),
      ).rejects.toThrow(message);
      for (const id of Object.values(names)) await expect(store.get(id)).rejects.toThrow(/not found/);
    }
  });

  it("refuses a truncated KES signing key and a stale counter", async () => {
    const set = await generated();
    const kesSk = readKesSigningKey(set.read("kes.skey"), "kes.skey");
    writeFileSync(join(set.dir, "kes.skey"), writeTextEnvelope("KesSigningKey_ed25519_kes_2^6", "", encodeCborBytes(kesSk.subarray(0, 600))));
    const store = storeWithSecrets();
    await expect(
      importKeys({ files: importFilesIn(set.dir), pool: "sandstone", dryRun: false }, { ...deps, store }),
    ).rejects.toThrow(`${join(set.dir, "kes.skey")}: KES signing key must be 608 bytes, got 600`);

    const set2 = await generated();
    const vk = readColdVerificationKey(set2.read("cold.vkey"), "cold.vkey");
    writeFileSync(join(set2.dir, "cold.counter"), writeOpcertCounter({ next: 0, coldVerificationKey: vk }));
    await expect(
      importKeys({ files: importFilesIn(set2.dir), pool: "sandstone", dryRun: false }, { ...deps, store }),
    ).rejects.toThrow(/cold\.counter: counter 0 is not ahead of .*node\.cert \(counter 0\): the counter file is stale/);
    await expect(store.get(names.opcert)).rejects.toThrow(/not found/);
  });

  it("reports which secrets were put when a put fails midway", async () => {
    const set = await generated();
    const store = new MemorySecretStore([names.opcertCounter, names.coldSigningKey]); // hot secrets missing
    await expect(
      importKeys({ files: importFilesIn(set.dir), pool: "sandstone", dryRun: false }, { ...deps, store }),
    ).rejects.toThrow(
      /import stopped at sandstone\/hot\/kes-signing-key: .*already put: sandstone\/cold\/opcert-counter, sandstone\/cold\/signing-key/,
    );
    expect(KeysCommandError).toBeDefined();
  });

  it("a failed import leaves its journal beside the lease naming what it put; the next import puts all five and clears it", async () => {
    const set = await generated();
    const journal = new MemoryJournal();
    const lease: LeaseGuard = { assertHeld: () => undefined, signal: new AbortController().signal, journal };
    const holdLease = (run: (l: LeaseGuard) => Promise<void>) => run(lease);
    const half = new MemorySecretStore([names.opcertCounter, names.coldSigningKey]);
    await expect(importKeys({ files: importFilesIn(set.dir), pool: "sandstone", dryRun: false }, { ...deps, store: half, holdLease })).rejects.toThrow(/import stopped at sandstone\/hot\/kes-signing-key/);
    expect(journal.entry).toMatchObject({ command: "keys import", step: names.kesSigningKey, facts: { pool: set.result.poolIdBech32, put: [names.opcertCounter, names.coldSigningKey] } });
    // Any other changing command refuses to work on secrets that may hold two key sets.
    const refusal = getRecovery("keys import");
    await expect(refusal!({} as OpsContext, journal.entry!, lease)).rejects.toThrow(/an interrupted keys import .*already put: sandstone\/cold\/opcert-counter, sandstone\/cold\/signing-key\) may have left the pool's secrets holding two key sets/);
    const whole = storeWithSecrets();
    await importKeys({ files: importFilesIn(set.dir), pool: "sandstone", dryRun: false }, { ...deps, store: whole, holdLease });
    expect(journal.entry).toBeUndefined();
    expect((await whole.get(names.opcert)).value).toBe(set.read("node.cert"));
  });

  it("an unfinished change of another command stops the import before any put, naming it", async () => {
    const set = await generated();
    const journal = new MemoryJournal();
    journal.entry = { command: "rotate-kes", step: "push-producer-2", startedAt: "2026-12-02T03:00:00Z", holder: { user: "bob", host: "desk", pid: 7 }, facts: {} };
    const lease: LeaseGuard = { assertHeld: () => undefined, signal: new AbortController().signal, journal };
    const store = storeWithSecrets();
    await expect(importKeys({ files: importFilesIn(set.dir), pool: "sandstone", dryRun: false }, { ...deps, store, holdLease: (run) => run(lease) })).rejects.toThrow(
      /an unfinished change is recorded beside the pool's lease: rotate-kes by bob@desk pid 7, .*stopped at step push-producer-2; nothing was put \(run pool-ops rotate-kes/,
    );
    await expect(store.get(names.coldSigningKey)).rejects.toThrow(/not found/);
    expect(journal.entry?.command).toBe("rotate-kes");
  });

  it("show warns about a KES vkey the cert does not certify and never prints a signing key", async () => {
    const set = await generated();
    writeFileSync(join(set.dir, "kes.vkey"), writeKesVerificationKey(generateKesKey().verificationKey));
    let out = "";
    const cmd = keysCommand({ stdout: (t) => (out += t), stderr: (t) => (out += t), now: () => NOW });
    cmd.exitOverride();
    await cmd.parseAsync(["show", "--dir", set.dir, "--network", "preprod"], { from: "user" });
    expect(out).toContain(`pool id           ${set.result.poolIdBech32}`);
    expect(out).toMatch(/warning: .*kes\.vkey: KES verification key is not the one certified by/);
    for (const f of ["cold.skey", "kes.skey", "vrf.skey"]) {
      const hex = JSON.parse(set.read(f)).cborHex.slice(4, 68);
      expect(out).not.toContain(hex);
    }
  });
});

describe("error class", () => {
  it("KeyMaterialError keeps source and problem apart", () => {
    const e = new KeyMaterialError("kes.skey", "KES signing key must be 608 bytes, got 600");
    expect(e.message).toBe("kes.skey: KES signing key must be 608 bytes, got 600");
    expect(e.source).toBe("kes.skey");
    void generateVrfKey;
  });
});
