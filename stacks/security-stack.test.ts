import { describe, expect, test } from "vitest";
import { Testing } from "cdktf";
import { resourcesOf, synthFailure, synthJson, testPool } from "../test/pool-fixtures";
import { buildPoolStacks } from "./pool-app";

function security(changes = {}) {
  const stacks = buildPoolStacks(Testing.app(), testPool(changes));
  return synthJson(stacks.security);
}

const parse = (policy: unknown) => JSON.parse(String(policy)) as { Statement: Record<string, unknown>[] };
const list = (v: unknown) => ([] as unknown[]).concat(v ?? []).map(String);

describe("security stack", () => {
  const json = security();

  test("one customer-managed key with rotation encrypts every secret", () => {
    expect(resourcesOf(json, "aws_kms_key")).toEqual([expect.objectContaining({ enable_key_rotation: true })]);
    const secrets = resourcesOf(json, "aws_secretsmanager_secret");
    expect(secrets.map((s) => s.name).sort()).toEqual([
      "testpool/cold/opcert-counter", "testpool/cold/signing-key", "testpool/hot/kes-signing-key", "testpool/hot/opcert", "testpool/hot/vrf-signing-key",
    ]);
    expect(secrets.every((s) => String(s.kms_key_id).includes("aws_kms_key"))).toBe(true);
  });

  test("secret containers only: no secret value anywhere in Terraform", () => {
    expect(resourcesOf(json, "aws_secretsmanager_secret_version")).toHaveLength(0);
    expect(JSON.stringify(json)).not.toMatch(/secret_string|secret_binary/);
  });

  test("no instance role's policy can read a cold-key secret; producers read exactly the three hot ones", () => {
    const roles = json.resource?.aws_iam_role ?? {};
    const instanceRoleIds = Object.entries(roles).filter(([, r]) => String(r.assume_role_policy).includes("ec2.amazonaws.com")).map(([id]) => id);
    expect(instanceRoleIds).toHaveLength(5);
    const onInstanceRoles = resourcesOf(json, "aws_iam_role_policy").filter((p) => instanceRoleIds.some((id) => String(p.role).includes(id)));
    const readable = onInstanceRoles.flatMap((p) => parse(p.policy).Statement.filter((s) => list(s.Action).includes("secretsmanager:GetSecretValue")).flatMap((s) => list(s.Resource)));
    expect(readable).toHaveLength(3);
    expect(readable.every((arn) => /aws_secretsmanager_secret\.secrets_(kesSigningKey|vrfSigningKey|opcert)_/.test(arn))).toBe(true);
    const managed = resourcesOf(json, "aws_iam_role_policy_attachment").map((a) => String(a.policy_arn));
    expect(new Set(managed)).toEqual(new Set(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]));
  });

  test("cold secrets' resource policies deny reads to everyone but the operator role and the account root", () => {
    const policies = resourcesOf(json, "aws_secretsmanager_secret_policy");
    const cold = policies.filter((p) => /coldSigningKey|opcertCounter/.test(String(p.secret_arn)));
    expect(cold).toHaveLength(2);
    for (const policy of cold) {
      const [deny] = parse(policy.policy).Statement;
      expect(deny).toMatchObject({ Effect: "Deny", Principal: "*" });
      const allowed = (deny?.Condition as Record<string, Record<string, string[]>>).StringNotEquals!["aws:PrincipalArn"]!;
      expect(allowed).toHaveLength(2);
      expect(allowed.join(" ")).toMatch(/aws_iam_role\.operator_role/);
      expect(allowed.join(" ")).not.toMatch(/producer/);
    }
  });

  test("producers may read hot keys only through the Secrets Manager endpoint", () => {
    const hot = resourcesOf(json, "aws_secretsmanager_secret_policy").filter((p) => /kesSigningKey/.test(String(p.secret_arn)));
    const statements = parse(hot[0]?.policy).Statement;
    expect(statements.find((s) => s.Sid === "ProducersReadOnlyThroughTheEndpoint")?.Condition).toMatchObject({
      StringNotEquals: { "aws:SourceVpce": [expect.stringMatching(/endpoint-secretsmanager|terraform_remote_state/)] },
    });
  });

  test("the operator role requires MFA to assume", () => {
    const operator = Object.values(json.resource?.aws_iam_role ?? {}).find((r) => String(r.name) === "testpool-operator");
    expect(parse(operator?.assume_role_policy).Statement[0]).toMatchObject({ Condition: { Bool: { "aws:MultiFactorAuthPresent": true } } });
  });
});

describe("IAM policy rules", () => {
  test("IAM-NO-COLD-KEY-FOR-INSTANCES: a config granting an instance role secret reads fails synth", () => {
    const grantAll = { iam: { extraInstanceStatements: [{ tier: "producer", actions: ["secretsmanager:GetSecretValue"], resources: ["*"] }] } };
    expect(synthFailure((app) => buildPoolStacks(app, testPool(grantAll)))).toMatch(
      /policy IAM-NO-COLD-KEY-FOR-INSTANCES violated by aws_iam_role_policy\.roles_producer-extra-0.*instance role testpool-producer may read the cold-key secrets/,
    );
    const coldByArn = { iam: { extraInstanceStatements: [{ tier: "relay", actions: ["secretsmanager:Get*"], resources: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:testpool/cold/signing-key-AbCdEf"] }] } };
    expect(synthFailure((app) => buildPoolStacks(app, testPool(coldByArn)))).toMatch(/IAM-NO-COLD-KEY-FOR-INSTANCES.*testpool-relay/);
  });

  test("an unrelated extra statement passes", () => {
    const snapshots = { iam: { extraInstanceStatements: [{ tier: "relay", actions: ["s3:GetObject"], resources: ["arn:aws:s3:::my-snapshots/*"] }] } };
    expect(synthFailure((app) => buildPoolStacks(app, testPool(snapshots)))).toBeUndefined();
  });

  test("IAM-NO-WILDCARD-ADMIN: * on * fails synth", () => {
    const admin = { iam: { extraInstanceStatements: [{ tier: "monitoring", actions: ["*"], resources: ["*"] }] } };
    expect(synthFailure((app) => buildPoolStacks(app, testPool(admin)))).toMatch(/policy IAM-NO-WILDCARD-ADMIN violated by aws_iam_role_policy\.roles_monitoring-extra-0/);
  });
});
