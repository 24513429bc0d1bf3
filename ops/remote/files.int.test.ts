/**
 * Root never writes through a path the node user controls, on the lab: the node user (as a compromised cardano-node
 * would) plants a symbolic link at each step of a put — the target, its `.bak`, the directory on the path, the
 * temporary/staging names while puts run, the backup directory of a backup and the target of a restore — pointing at
 * a root-owned file elsewhere. That file stays untouched, and each refused operation fails clearly.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPoolConfigFile } from "../../config/load";
import { LAB_SKIP, LAB_SKIP_NOTE, labFleet, useLab } from "../../lab/harness";
import type { Connection } from "./connection";
import type { Fleet } from "./fleet";
import { shellQuote as q } from "./shell";

describe.skipIf(LAB_SKIP)(`no root write through a path the node user controls${LAB_SKIP_NOTE}`, () => {
  const lab = useLab({ relays: 2 });
  let fleet: Fleet;
  let relay: Connection;
  let node = "";
  const id = randomBytes(4).toString("hex");
  const victim = `/var/tmp/pool-ops-victim-${id}`; // root's, outside anything pool-ops writes (as /etc/sudoers is)
  const victimDir = `/var/tmp/pool-ops-victim-dir-${id}`;
  const work = "/opt/cardano/lab-links"; // a directory the node user owns, as /opt/cardano/config was on hosts made before the root-owned layout
  const asNode = (script: string, timeoutSeconds = 30) => relay.run(`exec sudo -n -u ${q(node)} -- sh -c ${q(script)}`, { timeoutSeconds });
  const victimState = async () => (await relay.runChecked(`sha256sum ${q(victim)} | cut -d ' ' -f 1; stat -c '%U:%G:%a' ${q(victim)}; ls -A ${q(victimDir)} | wc -l`)).stdout.toString();
  let pristine = "";

  beforeAll(async () => {
    node = loadPoolConfigFile(lab().files.poolConfig).node.user;
    fleet = await labFleet(lab());
    relay = fleet.connection("relay-1");
    await relay.runChecked(`printf 'root only\\n' > ${q(victim)} && chmod 0640 ${q(victim)} && install -d -m 0700 ${q(victimDir)} && rm -rf ${q(work)} && install -d -o ${q(node)} -g ${q(node)} -m 0755 ${q(work)}`);
    pristine = await victimState();
  });
  afterAll(async () => {
    await relay?.run(`rm -rf ${q(victim)} ${q(victimDir)} ${q(work)}`).catch(() => undefined);
    await fleet?.close();
  });

  it("the target: a link the node user planted there is refused, not written through", async () => {
    expect((await asNode(`ln -sfn ${q(victim)} ${q(`${work}/topology.json`)}`)).exitCode).toBe(0);
    await expect(relay.put(`${work}/topology.json`, "{}\n", { owner: node, mode: 0o644 })).rejects.toMatchObject({
      host: "relay-1",
      message: expect.stringMatching(/^refused for safety: .*topology\.json is a symbolic link: refusing/),
    });
    expect(await victimState()).toBe(pristine);
  });

  it("the .bak: a link planted there is refused before the target changes", async () => {
    await asNode(`rm -f ${q(`${work}/topology.json`)} && printf 'old\\n' > ${q(`${work}/topology.json`)} && ln -sfn ${q(victim)} ${q(`${work}/topology.json.bak`)}`);
    await expect(relay.put(`${work}/topology.json`, "new\n")).rejects.toMatchObject({ message: expect.stringMatching(/topology\.json\.bak is a symbolic link/) });
    expect(await relay.readText(`${work}/topology.json`)).toBe("old\n");
    expect(await victimState()).toBe(pristine);
  });

  it("the directory on the path: a directory swapped for a link is refused", async () => {
    await asNode(`mkdir -p ${q(`${work}/config`)} && mv ${q(`${work}/config`)} ${q(`${work}/config.away`)} && ln -s ${q(victimDir)} ${q(`${work}/config`)}`);
    await expect(relay.put(`${work}/config/sudoers`, "evil ALL=(ALL) NOPASSWD: ALL\n", { mode: 0o440 })).rejects.toMatchObject({ message: expect.stringMatching(/config is a symbolic link or not a directory: refusing to follow it/) });
    expect(await victimState()).toBe(pristine);
  });

  /** Runs `racer` as the node user while puts to `target` repeat for ~5 s; returns how the puts ended. */
  const putsWhileRacing = async (racer: string, target: string) => {
    const racing = asNode(racer, 20);
    const outcomes = { changed: 0, refused: 0, other: [] as string[] };
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      try {
        await relay.put(target, `{"n":${outcomes.changed + outcomes.refused}}\n`, { owner: node, mode: 0o644 });
        outcomes.changed++;
      } catch (error) {
        if (/refused for safety/.test((error as Error).message)) outcomes.refused++;
        else outcomes.other.push((error as Error).message);
      }
    }
    return { ...outcomes, racer: (await racing).stdout.toString().trim() };
  };

  it("the temporary names: a node racing every put — links into the staging directory, the staging directory swapped for a link, links at the old mktemp names — changes nothing of root's", async () => {
    await asNode(`rm -rf ${q(`${work}/race`)} && mkdir ${q(`${work}/race`)}`);
    // Both what pool-ops stages now (.pool-ops-staging.*) and what it used to (mktemp .<name>.pool-ops.XXXXXX).
    const racer = [
      `cd ${q(`${work}/race`)} || exit 1`,
      "end=$(( $(date +%s) + 6 )); n=0",
      'while [ "$(date +%s)" -lt "$end" ]; do',
      "  for s in .pool-ops-staging.* .*.pool-ops.*; do",
      '    [ -e "$s" ] || continue; n=$((n+1))',
      `    ln -sf ${q(victim)} "$s/f0" 2>/dev/null; ln -sf ${q(victim)} "$s/f1" 2>/dev/null`,
      `    if [ -d "$s" ]; then mv "$s" "moved.$n" 2>/dev/null && ln -s ${q(victimDir)} "$s" 2>/dev/null; else rm -f "$s" 2>/dev/null; ln -s ${q(victim)} "$s" 2>/dev/null; fi`,
      "  done",
      "done",
      'echo "saw $n staging names"',
    ].join("\n");
    const outcome = await putsWhileRacing(racer, `${work}/race/topology.json`);
    expect(await victimState()).toBe(pristine);
    expect(outcome.other).toEqual([]);
    expect(outcome.changed).toBeGreaterThan(5); // the node cannot stop root's puts, only race them
    expect(outcome.racer).toMatch(/saw [1-9]\d* staging names/);
  });

  it("the target swapped for a link while puts run: each put replaces the link or refuses, never writes through it", async () => {
    await asNode(`rm -rf ${q(`${work}/swap`)} && mkdir ${q(`${work}/swap`)}`);
    const racer = [`cd ${q(`${work}/swap`)} || exit 1`, "end=$(( $(date +%s) + 6 ))", 'while [ "$(date +%s)" -lt "$end" ]; do', `  ln -sfn ${q(victim)} swap.tmp && mv -f swap.tmp topology.json`, "done", "echo done"].join("\n");
    const outcome = await putsWhileRacing(racer, `${work}/swap/topology.json`);
    expect(await victimState()).toBe(pristine);
    expect(outcome.other).toEqual([]);
    expect(outcome.changed + outcome.refused).toBeGreaterThan(5);
  });

  it("the backup directory and the restore target: links planted there are refused; a link where an absent file was is removed, not followed", async () => {
    await asNode(`rm -rf ${q(`${work}/svc`)} && mkdir ${q(`${work}/svc`)} && printf 'v1\\n' > ${q(`${work}/svc/config.json`)} && ln -sfn ${q(victimDir)} ${q(`${work}/backup`)}`);
    await expect(relay.backupFiles(`${work}/backup/run-1`, [{ path: `${work}/svc/config.json`, as: "0" }])).rejects.toMatchObject({ message: expect.stringMatching(/backup is a symbolic link or not a directory/) });
    expect(await victimState()).toBe(pristine);
    await asNode(`rm -f ${q(`${work}/backup`)}`);
    const backups = `${work}/backups-${id}`;
    expect(await relay.backupFiles(backups, [{ path: `${work}/svc/config.json`, as: "0" }, { path: `${work}/svc/topology.json`, as: "1" }])).toEqual({ absent: [`${work}/svc/topology.json`] });
    expect((await relay.runChecked(`stat -c '%U %a' ${q(backups)}`)).stdout.toString()).toBe("root 700\n");
    // The node cannot reach into the backups, and plants links where the restore will write and where it will remove.
    expect((await asNode(`ls ${q(backups)}`)).exitCode).not.toBe(0);
    await asNode(`rm -f ${q(`${work}/svc/config.json`)} && ln -s ${q(victim)} ${q(`${work}/svc/config.json`)} && ln -s ${q(victim)} ${q(`${work}/svc/topology.json`)}`);
    await expect(relay.restoreFiles(backups, [{ path: `${work}/svc/config.json`, from: "0" }])).rejects.toMatchObject({ message: expect.stringMatching(/config\.json is a symbolic link: refusing to restore onto it/) });
    await relay.restoreFiles(backups, [{ path: `${work}/svc/topology.json`, from: "1", absent: true }]);
    expect((await relay.run(`test -e ${q(`${work}/svc/topology.json`)} || test -L ${q(`${work}/svc/topology.json`)}`)).exitCode).toBe(1);
    expect(await victimState()).toBe(pristine);
  });
});
