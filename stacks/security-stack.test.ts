import { describe, expect, test } from "vitest";
import { resourcesOf, synthFailure, synthJson, testApp, testPool } from "../test/pool-fixtures";
import { buildPoolStacks } from "./pool-app";

function security(changes = {}) {
  const stacks = buildPoolStacks(testApp(), testPool(changes));
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

  const secretPolicy = (key: RegExp, j = json) => parse(resourcesOf(j, "aws_secretsmanager_secret_policy").find((p) => key.test(String(p.secret_arn)))?.policy).Statement;
  const principalsOf = (statement: Record<string, unknown> | undefined) =>
    (statement?.Condition as Record<string, Record<string, string[]>>).StringNotEquals!["aws:PrincipalArn"]!;

  test("cold secrets' policies deny the value — read and write — to everyone but the operator role, root included", () => {
    for (const key of [/coldSigningKey/, /opcertCounter/]) {
      const statements = secretPolicy(key);
      expect(statements).toHaveLength(1);
      const [deny] = statements;
      expect(deny).toMatchObject({ Effect: "Deny", Principal: "*", Action: expect.arrayContaining(["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]) });
      expect(principalsOf(deny)).toEqual([expect.stringMatching(/aws_iam_role\.operator_role/)]);
    }
  });

  test("no secret policy denies reading metadata: Terraform reads every secret back on each plan", () => {
    for (const policy of resourcesOf(json, "aws_secretsmanager_secret_policy")) {
      const denied = parse(policy.policy).Statement.flatMap((s) => list(s.Action));
      expect(denied).not.toEqual(expect.arrayContaining([expect.stringMatching(/DescribeSecret|GetResourcePolicy|ListSecretVersionIds|\*/)]));
    }
  });

  test("hot secrets: producers and the operator read, only the operator writes, producers only through the endpoint", () => {
    const statements = secretPolicy(/kesSigningKey/);
    expect(principalsOf(statements.find((s) => s.Sid === "HotKeyValueOnlyForProducersAndTheOperator"))).toEqual([
      expect.stringMatching(/aws_iam_role\.operator_role/),
      expect.stringMatching(/aws_iam_role\.roles_producer-role/),
    ]);
    expect(principalsOf(statements.find((s) => s.Sid === "HotKeyWritesOnlyByTheOperator"))).toEqual([expect.stringMatching(/aws_iam_role\.operator_role/)]);
    expect(statements.find((s) => s.Sid === "ProducersReadOnlyThroughTheEndpoint")?.Condition).toMatchObject({
      StringNotEquals: { "aws:SourceVpce": [expect.stringMatching(/endpoint-secretsmanager|terraform_remote_state/)] },
    });
  });

  test("listed deployers alone (and the root user) manage the secrets; none listed leaves it to IAM", () => {
    expect(secretPolicy(/coldSigningKey/).find((s) => s.Sid === "SecretManagedOnlyByTheDeployers")).toBeUndefined();
    const deployer = "arn:aws:iam::123456789012:role/pool-deployer";
    const withDeployers = security({ iam: { deployerPrincipals: [deployer] } });
    for (const key of [/coldSigningKey/, /opcert_/]) {
      const manage = secretPolicy(key, withDeployers).find((s) => s.Sid === "SecretManagedOnlyByTheDeployers");
      expect(list(manage?.Action)).toEqual(expect.arrayContaining(["secretsmanager:PutResourcePolicy", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret"]));
      expect(principalsOf(manage)).toEqual([deployer, expect.stringMatching(/^arn:aws:iam::\$\{data\.aws_caller_identity\.[^}]+\}:root$/)]);
    }
  });

  test("the operator may write the cold key (keys import), image and operate only the pool's instances", () => {
    const [policy] = resourcesOf(json, "aws_iam_role_policy").filter((p) => p.name === "pool-ops");
    const statements = parse(policy?.policy).Statement;
    const sid = (id: string) => statements.find((s) => s.Sid === id);
    expect(list(sid("KeySecretValues")?.Action)).toContain("secretsmanager:PutSecretValue");
    expect(list(sid("KeySecretValues")?.Resource).some((r) => r.includes("coldSigningKey"))).toBe(true);
    expect(sid("OperatePoolInstances")).toMatchObject({ Condition: { StringEquals: { "ec2:ResourceTag/Pool": "testpool" } } });
    expect(list(sid("OperatePoolInstances")?.Action)).toEqual(expect.arrayContaining(["ec2:ModifyInstanceAttribute", "ec2:GetConsoleOutput"]));
    expect(sid("GrantPoolKeyToEc2ForEncryptedVolumes")).toMatchObject({ Action: "kms:CreateGrant", Condition: { Bool: { "kms:GrantIsForAWSResource": true } } });
    expect(sid("TagImagesOnCreation")).toMatchObject({ Condition: { StringEquals: { "ec2:CreateAction": "CreateImage" } } });
  });

  test("the pool-wide lease: one on-demand table keyed by pk, TTL on expiresAt, deletion protection on, tagged", () => {
    const tables = resourcesOf(json, "aws_dynamodb_table");
    expect(tables).toEqual([
      expect.objectContaining({
        name: "testpool-pool-ops-lease",
        billing_mode: "PAY_PER_REQUEST",
        hash_key: "pk",
        attribute: [{ name: "pk", type: "S" }],
        ttl: { attribute_name: "expiresAt", enabled: true },
        deletion_protection_enabled: true,
        tags: { Name: "testpool-pool-ops-lease", Role: "security" },
      }),
    ]);
    // AWS's default encryption and no point-in-time recovery: neither block is set.
    expect(tables[0]).not.toHaveProperty("server_side_encryption");
    expect(tables[0]).not.toHaveProperty("point_in_time_recovery");
  });

  test("the operator may get, put, update and delete the lease item, on the lease table only; no instance role names it", () => {
    const policies = resourcesOf(json, "aws_iam_role_policy");
    const statements = parse(policies.find((p) => p.name === "pool-ops")?.policy).Statement;
    const lease = statements.find((s) => s.Sid === "PoolLease");
    expect(list(lease?.Action).sort()).toEqual(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]);
    expect(list(lease?.Resource)).toEqual([expect.stringMatching(/^\$\{aws_dynamodb_table\.lease_table_[^}]*\.arn\}$/)]);
    // No other operator statement grants DynamoDB, and no other policy mentions it.
    expect(statements.filter((s) => s !== lease && list(s.Action).some((a) => a.startsWith("dynamodb:")))).toEqual([]);
    const others = policies.filter((p) => p.name !== "pool-ops");
    expect(others.length).toBeGreaterThan(0);
    expect(others.filter((p) => /dynamodb|aws_dynamodb_table/.test(String(p.policy)))).toEqual([]);
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
