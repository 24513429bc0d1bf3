/**
 * rotate-kes's backup and restore of a producer's pair and promote's credential moves, as the host steps run them
 * (ops/pool/kes-rotation.ts, producer-role.ts): through a Connection whose commands run on this machine as root,
 * exactly the text a host gets. A link the node user planted at any path they touch is refused, never followed, and
 * the file it points at stays as it was.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostLayout } from "../../config/host-layout";
import { testPool } from "../../test/pool-fixtures";
import { Connection, type CommandResult } from "../remote/connection";
import { backUpPair, restorePair } from "./kes-rotation";
import { moveCredentials } from "./producer-role";

const asRoot = process.getuid?.() === 0;

/** A Connection to "producer-1" whose commands run here with sh (as the lab's hosts run them under sudo). */
function localConnection(): Connection {
  const c = Object.create(Connection.prototype) as Connection;
  Object.defineProperties(c, {
    name: { value: "producer-1" },
    settings: { value: { commandTimeoutSeconds: 30 } },
    run: {
      value: async (command: string): Promise<CommandResult> => {
        const r = spawnSync("sh", ["-c", command], { encoding: "buffer" });
        return { command, exitCode: r.status ?? 1, stdout: r.stdout, stderr: r.stderr.toString(), durationMs: 0 };
      },
    },
  });
  return c;
}

describe.skipIf(!asRoot)(`the credential steps never follow a link the node planted${asRoot ? "" : " [skipped: they set owners: run as root]"}`, () => {
  const root = mkdtempSync(join(tmpdir(), "credential-steps-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const victim = join(root, "sudoers"); // root's, outside the node's files
  writeFileSync(victim, "root's own\n", { mode: 0o440 });
  const untouched = () => {
    expect(readFileSync(victim, "utf8")).toBe("root's own\n");
    expect(statSync(victim).mode & 0o777).toBe(0o440);
  };
  const plant = (at: string) => {
    rmSync(at, { force: true });
    symlinkSync(victim, at);
    lchownSync(at, 12345, 12345);
  };
  let n = 0;
  /** A producer's node home with the current pair in the active paths (root's keys/, as the layout has it). */
  const producer = () => {
    const config = testPool({ node: { user: "root", group: "root", home: join(root, `home-${n++}`) } });
    const layout = hostLayout(config);
    mkdirSync(layout.keysDir, { recursive: true, mode: 0o750 });
    writeFileSync(layout.activeCredentials.kesKey, "kes v1\n", { mode: 0o640 });
    writeFileSync(layout.activeCredentials.vrfKey, "vrf\n", { mode: 0o600 });
    writeFileSync(layout.activeCredentials.opcert, "cert v1\n", { mode: 0o640 });
    return { config, layout, backup: `${layout.backupDir}/run-rotate-kes/producer-1` };
  };
  const c = localConnection();

  it("rotate-kes: the pair is backed up into a root-only directory and restored from it, owner and mode kept", async () => {
    const { layout, backup } = producer();
    await backUpPair(c, layout.activeCredentials, backup);
    expect(statSync(backup).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(backup, "kes.skey"), "utf8")).toBe("kes v1\n");
    writeFileSync(layout.activeCredentials.kesKey, "kes v2\n");
    writeFileSync(layout.activeCredentials.opcert, "cert v2\n");
    await restorePair(c, layout.activeCredentials, backup);
    expect(readFileSync(layout.activeCredentials.kesKey, "utf8")).toBe("kes v1\n");
    expect(readFileSync(layout.activeCredentials.opcert, "utf8")).toBe("cert v1\n");
    expect(statSync(layout.activeCredentials.opcert).mode & 0o777).toBe(0o640);
  });

  it("rotate-kes: a link at the KES key refuses the backup; a link at the op cert refuses the restore; the victim is untouched", async () => {
    const { layout, backup } = producer();
    plant(layout.activeCredentials.kesKey);
    await expect(backUpPair(c, layout.activeCredentials, backup)).rejects.toMatchObject({ host: "producer-1", step: "back up the current pair", message: expect.stringMatching(/^refused for safety: .*kes\.skey is a symbolic link/) });
    untouched();
    rmSync(layout.activeCredentials.kesKey);
    writeFileSync(layout.activeCredentials.kesKey, "kes v1\n", { mode: 0o640 });
    await backUpPair(c, layout.activeCredentials, backup);
    plant(layout.activeCredentials.opcert);
    await expect(restorePair(c, layout.activeCredentials, backup)).rejects.toMatchObject({ step: "restore the previous pair", message: expect.stringMatching(/node\.cert is a symbolic link: refusing to restore onto it/) });
    untouched();
  });

  it("rotate-kes: a pair with a file missing is not backed up (as cp failed before)", async () => {
    const { layout, backup } = producer();
    rmSync(layout.activeCredentials.opcert);
    await expect(backUpPair(c, layout.activeCredentials, backup)).rejects.toMatchObject({ step: "back up the current pair", message: expect.stringMatching(/node\.cert missing: nothing to back up/) });
  });

  it("promote: the credentials move to the held paths (made root's, the node's group, 0750), a resumed move is fine, missing at both ends is not", async () => {
    const { config, layout } = producer();
    chmodSync(layout.keysDir, 0o700); // an existing directory keeps its mode
    await moveCredentials(config, c, layout.activeCredentials, layout.heldCredentials, "hold the credentials aside");
    expect(statSync(join(layout.keysDir, "standby")).mode & 0o777).toBe(0o750);
    expect(statSync(layout.keysDir).mode & 0o777).toBe(0o700);
    expect(readFileSync(layout.heldCredentials.vrfKey, "utf8")).toBe("vrf\n");
    expect(statSync(layout.heldCredentials.vrfKey).mode & 0o777).toBe(0o600);
    expect(existsSync(layout.activeCredentials.kesKey)).toBe(false);
    await moveCredentials(config, c, layout.activeCredentials, layout.heldCredentials, "hold the credentials aside");
    rmSync(layout.heldCredentials.opcert);
    await expect(moveCredentials(config, c, layout.heldCredentials, layout.activeCredentials, "move the credentials in")).rejects.toMatchObject({ step: "move the credentials in", message: `missing ${layout.heldCredentials.opcert}` });
  });

  it("promote: a link at an active path is refused, not moved into; the victim is untouched", async () => {
    const { config, layout } = producer();
    await moveCredentials(config, c, layout.activeCredentials, layout.heldCredentials, "hold the credentials aside");
    plant(layout.activeCredentials.vrfKey);
    await expect(moveCredentials(config, c, layout.heldCredentials, layout.activeCredentials, "move the credentials in")).rejects.toMatchObject({ message: expect.stringMatching(/^refused for safety: .*vrf\.skey is a symbolic link: refusing to move onto it/) });
    untouched();
    expect(readFileSync(layout.heldCredentials.vrfKey, "utf8")).toBe("vrf\n");
  });
});
