import { CloudWatchLogsClient, CreateLogGroupCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorAvailable, startAwsEmulator as startMoto, type AwsEmulator as Emulator } from "../lab/aws-emulator";
import { appendAudit, auditEntryFor, defaultAuditLogPath } from "./audit";
import { awsClientSettings } from "./aws/client-config";
import { GroupResult } from "./remote/result";

const group = new GroupResult(
  [
    { host: "producer-1", status: "changed", exitCode: 0, stdout: "", stderr: "", durationMs: 120 },
    { host: "producer-2", status: "unreachable", exitCode: null, stdout: "", stderr: "", durationMs: 5000 },
  ],
  5004,
);

const NO_MOTO = emulatorAvailable() ? undefined : "moto (the AWS emulator) is not installed for python3";

describe.skipIf(NO_MOTO)(`audit log${NO_MOTO ? ` [skipped: ${NO_MOTO}]` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "audit-"));
  let moto: Emulator;
  beforeAll(async () => {
    moto = await startMoto();
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
  });

  it("appends one JSON line per command: time, operator, command, hosts, result, duration", async () => {
    const file = join(dir, "sub", "audit.log");
    const entry = auditEntryFor("rotate-kes --hosts producer-1,producer-2", group, { pool: "sandstone", operator: "alice@laptop", details: { kesPeriod: 1510 } });
    expect(await appendAudit(entry, { file })).toEqual([]);
    await appendAudit({ ...entry, command: "second" }, { file });
    const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      operator: "alice@laptop",
      command: "rotate-kes --hosts producer-1,producer-2",
      pool: "sandstone",
      hosts: ["producer-1", "producer-2"],
      result: "partial",
      statuses: { "producer-1": "changed", "producer-2": "unreachable" },
      durationMs: 5004,
      details: { kesPeriod: 1510 },
    });
    expect(Date.parse(lines[0].time)).not.toBeNaN();
    expect(statSync(file).mode & 0o077).toBe(0); // operator-only
  });

  it("POOL_OPS_AUDIT_LOG overrides the default path", () => {
    const saved = process.env.POOL_OPS_AUDIT_LOG;
    process.env.POOL_OPS_AUDIT_LOG = "/tmp/x/audit.log";
    expect(defaultAuditLogPath()).toBe("/tmp/x/audit.log");
    delete process.env.POOL_OPS_AUDIT_LOG;
    expect(defaultAuditLogPath()).toMatch(/\.pool-ops\/audit\.log$/);
    if (saved !== undefined) process.env.POOL_OPS_AUDIT_LOG = saved;
  });

  it("copies the line to CloudWatch Logs when a log group is configured", async () => {
    const aws = { region: "eu-west-1", endpoint: moto.endpoint };
    const logs = new CloudWatchLogsClient(awsClientSettings(aws));
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/sandstone/pool-ops-audit" }));
    const entry = auditEntryFor("promote producer-2", group, { operator: "bob@ops" });
    const file = join(dir, "cw.log");
    expect(await appendAudit(entry, { file, cloudWatch: { logGroup: "/sandstone/pool-ops-audit", aws } })).toEqual([]);
    const events = await logs.send(new GetLogEventsCommand({ logGroupName: "/sandstone/pool-ops-audit", logStreamName: "pool-ops/bob@ops" }));
    expect(events.events?.map((e) => JSON.parse(e.message ?? "{}").command)).toEqual(["promote producer-2"]);
    logs.destroy();
  });

  it("a CloudWatch failure is a warning; the local line is still written", async () => {
    const file = join(dir, "cw-fail.log");
    const warnings = await appendAudit(auditEntryFor("x", group, { operator: "bob@ops" }), {
      file,
      cloudWatch: { logGroup: "/does/not/exist", aws: { region: "eu-west-1", endpoint: moto.endpoint } },
    });
    expect(warnings[0]).toMatch(/written to .*cw-fail.log but not to CloudWatch Logs group \/does\/not\/exist/);
    expect(readFileSync(file, "utf8")).toContain('"command":"x"');
  });
});
