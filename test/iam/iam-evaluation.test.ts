/**
 * The pool's IAM, evaluated — not by the emulator, which enforces no policy at all, but by an IAM policy evaluator
 * (@cloud-copilot/iam-simulate) over the synthesised identity, trust, resource and endpoint policies: each actor
 * against a table of every AWS call Terraform, `npm run plan`, pool-ops and the hosts' boot scripts make.
 *
 * The calls come from the code (sdk-calls.ts: the SDK commands of ops/ and tools/, the `aws …` lines of the boot
 * scripts) and from the provider's source for each synthesised resource type (terraform-calls.ts), so a new call or
 * resource without a permission fails here.
 */
import { beforeAll, describe, expect, test } from "vitest";
import type { PoolConfig } from "../../config/schema";
import { testPool } from "../pool-fixtures";
import { evaluate, type Actor, type AwsRequest, type Decision } from "./evaluate";
import { BOOT_CALLS, PLAN_CALLS, POOL_OPS_CALLS, RUNTIME_CALLS, SERVICE_CALLS } from "./pool-calls";
import { DEPLOYER_ROLE_ARN, INSTANCE_TIERS, poolActors, poolFacts, type PoolActors, type PoolFacts } from "./pool-facts";
import { cliCallsIn, sdkCallsIn } from "./sdk-calls";
import { poolPolicies, SynthesisedPool, type PolicyDocument, type PoolPolicies } from "./synthesised-pool";
import { terraformRequests } from "./terraform-requests";

interface World {
  readonly pool: SynthesisedPool;
  readonly policies: PoolPolicies;
  readonly facts: PoolFacts;
  readonly actors: PoolActors;
}

function world(config: PoolConfig): World {
  const pool = new SynthesisedPool(config);
  const policies = poolPolicies(pool);
  return { pool, policies, facts: poolFacts(pool), actors: poolActors(pool, policies) };
}

/** Requests whose decision differs from `want`, each as one readable line. */
async function mismatches(actor: Actor, requests: readonly AwsRequest[], policies: PoolPolicies, want: Decision | "Denied" = "Allowed", label = ""): Promise<string[]> {
  const out: string[] = [];
  for (const request of requests) {
    const { decision, detail } = await evaluate(actor, request, policies);
    const ok = want === "Denied" ? decision !== "Allowed" : decision === want;
    if (!ok) out.push(`${label}${actor.name}: ${request.action} on ${request.resource}${request.viaEndpoint ? ` via ${request.viaEndpoint}` : ""} → ${decision}${decision === "Allowed" ? "" : ` (${detail})`}`);
  }
  return out;
}

/** The operator's calls, from the SDK commands under ops/. */
function poolOpsRequests(facts: PoolFacts): AwsRequest[] {
  return sdkCallsIn("ops").flatMap((call) => POOL_OPS_CALLS[call.action]?.requests(facts) ?? []);
}

/** IAM's ArnLike: `*` matches any run of characters, `?` one. */
const arnLike = (pattern: string, arn: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`).test(arn);

const defaults = testPool();
const withDeployers = testPool({ iam: { deployerPrincipals: [DEPLOYER_ROLE_ARN] } });

describe("IAM evaluated for every actor against every call", () => {
  let w: World;
  beforeAll(() => {
    w = world(defaults);
  });

  test("every AWS call under ops/ has a row saying where it lands", () => {
    const calls = sdkCallsIn("ops");
    expect(calls.map((c) => c.action)).toEqual(expect.arrayContaining(["secretsmanager:PutSecretValue", "ec2:CreateImage", "ec2:GetConsoleOutput", "ec2:ModifyInstanceAttribute"]));
    const missing = calls.filter((c) => !POOL_OPS_CALLS[c.action]).map((c) => `${c.action} (${c.files.join(", ")})`);
    expect(missing, "pool-ops makes calls the IAM table (test/iam/pool-calls.ts) does not describe").toEqual([]);
  });

  test("the operator role, assumed with MFA, may make every pool-ops call", async () => {
    expect(await mismatches(w.actors.operator, poolOpsRequests(w.facts), w.policies)).toEqual([]);
  });

  test("the operator role is assumed only with MFA", async () => {
    const trust = w.policies.trust.get(`${defaults.name}-operator`)!;
    const assume: AwsRequest = { action: "sts:AssumeRole", resource: w.policies.roleArn.get(`${defaults.name}-operator`)!, resourcePolicy: trust };
    expect((await evaluate(w.actors.operatorHuman(true), assume, w.policies)).decision).toBe("Allowed");
    expect((await evaluate(w.actors.operatorHuman(false), assume, w.policies)).decision).not.toBe("Allowed");
  });

  test("every resource Terraform manages: each create, read, update and delete call is allowed to the deployer", async () => {
    const requests = terraformRequests(w.pool);
    expect(requests.length).toBeGreaterThan(300);
    const failures: string[] = [];
    for (const { address, request } of requests) failures.push(...(await mismatches(w.actors.deployer, [request], w.policies, "Allowed", `${address}: `)));
    expect(failures).toEqual([]);
  });

  test("`npm run plan`'s calls (tools/) are described and allowed to the deployer", async () => {
    const calls = sdkCallsIn("tools");
    expect(calls.map((c) => c.action)).toEqual(expect.arrayContaining(["servicequotas:GetServiceQuota", "ec2:DescribeAddresses", "ec2:DescribeInstanceTypes"]));
    const missing = calls.filter((c) => !PLAN_CALLS[c.action]).map((c) => `${c.action} (${c.files.join(", ")})`);
    expect(missing, "tools/ makes calls test/iam/pool-calls.ts PLAN_CALLS does not describe").toEqual([]);
    expect(await mismatches(w.actors.deployer, calls.flatMap((c) => PLAN_CALLS[c.action]!.requests(w.facts)), w.policies)).toEqual([]);
  });

  test("every boot script's AWS call is described and allowed to its host's role; so are Alertmanager's and Prometheus'", async () => {
    const failures: string[] = [];
    const scripts = cliCallsIn("stacks/boot");
    expect(scripts.length).toBeGreaterThan(0);
    for (const call of scripts) {
      for (const file of call.files) {
        const row = BOOT_CALLS[file]?.[call.action];
        if (!row) {
          failures.push(`${file} calls ${call.action}, which test/iam/pool-calls.ts BOOT_CALLS does not describe`);
          continue;
        }
        failures.push(...(await mismatches(w.actors.instanceRole(row.tier), row.requests(w.facts), w.policies, "Allowed", `${file}: `)));
      }
    }
    for (const row of RUNTIME_CALLS) failures.push(...(await mismatches(w.actors.instanceRole(row.tier), row.requests(w.facts), w.policies)));
    expect(failures).toEqual([]);
  });

  test("AWS services may use the pool's keys for the pool's alerts and log groups", async () => {
    const failures: string[] = [];
    for (const row of SERVICE_CALLS) failures.push(...(await mismatches(w.actors.service(row.principal(w.facts)), row.requests(w.facts), w.policies)));
    expect(failures).toEqual([]);
    // CloudWatch Logs: the key statement's encryption-context pattern must cover the log group it encrypts.
    for (const [keyArn, logGroupArn] of [[w.facts.poolKeyArn, w.facts.auditLogGroupArn], [w.facts.flowLogsKeyArn, w.facts.flowLogGroupArn]] as const) {
      const forLogs = w.policies.resource.get(keyArn)!.Statement.find((s) => JSON.stringify(s.Principal).includes(`logs.${defaults.region}.amazonaws.com`))!;
      const patterns = Object.values(forLogs.Condition as Record<string, Record<string, string>>).map((c) => c["kms:EncryptionContext:aws:logs:arn"]!);
      expect(patterns.some((p) => arnLike(p, logGroupArn)), `${keyArn}: no logs statement covers ${logGroupArn}`).toBe(true);
      expect(patterns.some((p) => arnLike(p, `arn:aws:logs:${defaults.region}:${w.facts.account}:log-group:/otherpool/x`))).toBe(false);
    }
  });

  test("the cold key and counter: only the operator reads or writes them — not the deployer, an unrelated administrator, another account or any instance role", async () => {
    const cold = [w.facts.secretArn.coldSigningKey, w.facts.secretArn.opcertCounter];
    const touch = cold.flatMap((resource): AwsRequest[] => [
      { action: "secretsmanager:GetSecretValue", resource },
      { action: "secretsmanager:PutSecretValue", resource },
    ]);
    const others = [w.actors.deployer, w.actors.unrelatedAdmin, w.actors.otherAccount, ...INSTANCE_TIERS.map((t) => w.actors.instanceRole(t))];
    const failures: string[] = [];
    for (const actor of others) failures.push(...(await mismatches(actor, touch, w.policies, "Denied")));
    // Through the pool's endpoint too, where a host's credentials would come from.
    for (const tier of INSTANCE_TIERS) {
      failures.push(...(await mismatches(w.actors.instanceRole(tier), cold.map((resource) => ({ action: "secretsmanager:GetSecretValue", resource, viaEndpoint: w.facts.endpointId("secretsmanager") })), w.policies, "Denied")));
    }
    expect(failures).toEqual([]);
    expect(await mismatches(w.actors.operator, touch, w.policies)).toEqual([]);
  });

  test("the pool-wide lease: the operator takes, renews, releases and reads it; no instance role can do any of it", async () => {
    const calls = sdkCallsIn("ops").map((c) => c.action);
    const leaseCalls = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"];
    expect(calls.filter((c) => c.startsWith("dynamodb:")).sort()).toEqual([...leaseCalls].sort());
    const onLease = leaseCalls.map((action): AwsRequest => ({ action, resource: w.facts.leaseTableArn }));
    expect(await mismatches(w.actors.operator, onLease, w.policies)).toEqual([]);
    const failures: string[] = [];
    for (const tier of INSTANCE_TIERS) failures.push(...(await mismatches(w.actors.instanceRole(tier), onLease, w.policies, "Denied")));
    expect(failures).toEqual([]);
    // Only that table: the operator's grant does not reach another table of the account.
    const elsewhere = leaseCalls.map((action): AwsRequest => ({ action, resource: `arn:aws:dynamodb:${defaults.region}:${w.facts.account}:table/otherpool-pool-ops-lease` }));
    expect(await mismatches(w.actors.operator, elsewhere, w.policies, "Denied")).toEqual([]);
  });

  test("an administrator's rights do not reach the values: the explicit deny of the secret policy decides", async () => {
    const { decision, detail } = await evaluate(w.actors.unrelatedAdmin, { action: "secretsmanager:GetSecretValue", resource: w.facts.secretArn.kesSigningKey }, w.policies);
    expect(decision).toBe("ExplicitlyDenied");
    expect(detail).toMatch(/HotKeyValueOnlyForProducersAndTheOperator/);
  });

  test("producers read their three hot secrets only through the Secrets Manager endpoint, and nothing else of it", async () => {
    const producer = w.actors.instanceRole("producer");
    const endpoint = w.facts.endpointId("secretsmanager");
    const hot = [w.facts.secretArn.kesSigningKey, w.facts.secretArn.vrfSigningKey, w.facts.secretArn.opcert];
    expect(await mismatches(producer, hot.map((resource) => ({ action: "secretsmanager:GetSecretValue", resource, viaEndpoint: endpoint })), w.policies)).toEqual([]);
    // From anywhere else (no endpoint, or another VPC's endpoint): denied by the secret policy.
    expect(await mismatches(producer, hot.map((resource) => ({ action: "secretsmanager:GetSecretValue", resource })), w.policies, "ExplicitlyDenied")).toEqual([]);
    expect(await mismatches(producer, hot.map((resource) => ({ action: "secretsmanager:GetSecretValue", resource, context: { "aws:SourceVpce": "vpce-0a1b2c3d4e5f60718" } })), w.policies, "ExplicitlyDenied")).toEqual([]);
    // Producers never write their keys, and no other instance role reads them.
    expect(await mismatches(producer, hot.map((resource) => ({ action: "secretsmanager:PutSecretValue", resource, viaEndpoint: endpoint })), w.policies, "Denied")).toEqual([]);
    for (const tier of INSTANCE_TIERS.filter((t) => t !== "producer")) {
      expect(await mismatches(w.actors.instanceRole(tier), hot.map((resource) => ({ action: "secretsmanager:GetSecretValue", resource, viaEndpoint: endpoint })), w.policies, "Denied")).toEqual([]);
    }
  });

  test("the Secrets Manager endpoint carries only the pool's own secrets, for the pool's account", async () => {
    const endpoint = w.facts.endpointId("secretsmanager");
    // Even a principal allowed everything cannot reach another pool's secret, or use another account's credentials, through it.
    const elsewhere = `arn:aws:secretsmanager:${defaults.region}:${w.facts.account}:secret:otherpool/hot/kes-signing-key-AbCdEf`;
    const viaUs: AwsRequest = { action: "secretsmanager:GetSecretValue", resource: elsewhere, viaEndpoint: endpoint };
    expect((await evaluate(w.actors.unrelatedAdmin, viaUs, w.policies)).decision).not.toBe("Allowed");
    expect((await evaluate(w.actors.unrelatedAdmin, { ...viaUs, viaEndpoint: undefined }, w.policies)).decision).toBe("Allowed");
    const foreignKms: AwsRequest = { action: "kms:Decrypt", resource: "arn:aws:kms:eu-west-1:999988887777:key/0a1b2c3d-0000-4000-8000-000000000000", viaEndpoint: w.facts.endpointId("kms") };
    expect((await evaluate(w.actors.otherAccount, foreignKms, w.policies)).decision).not.toBe("Allowed");
  });

  test("with deployer principals listed, they still read and manage every secret; nobody else changes a policy", async () => {
    const listed = world(withDeployers);
    const failures: string[] = [];
    for (const { address, request } of terraformRequests(listed.pool)) failures.push(...(await mismatches(listed.actors.deployer, [request], listed.policies, "Allowed", `${address}: `)));
    expect(failures).toEqual([]);
    const rewrite: AwsRequest = { action: "secretsmanager:PutResourcePolicy", resource: listed.facts.secretArn.coldSigningKey };
    expect((await evaluate(listed.actors.unrelatedAdmin, rewrite, listed.policies)).decision).toBe("ExplicitlyDenied");
    expect((await evaluate(listed.actors.operator, rewrite, listed.policies)).decision).not.toBe("Allowed");
    // Without the list, changing policies is IAM's call: the administrator may.
    expect((await evaluate(w.actors.unrelatedAdmin, { ...rewrite, resource: w.facts.secretArn.coldSigningKey }, w.policies)).decision).toBe("Allowed");
  });
});

describe("the evaluation fails when the policies are wrong", () => {
  let w: World;
  beforeAll(() => {
    w = world(defaults);
  });

  /** The pool's policies with the operator's inline policy changed by `edit`. */
  function withOperatorPolicy(edit: (statements: Record<string, unknown>[]) => Record<string, unknown>[]): PoolPolicies {
    const role = `${defaults.name}-operator`;
    const identity = new Map(w.policies.identity);
    identity.set(role, (identity.get(role) ?? []).map((p) => ({ name: p.name, policy: { ...p.policy, Statement: edit(p.policy.Statement.map((s) => ({ ...s }))) } })));
    return { ...w.policies, identity };
  }

  test("a permission removed from the operator's policy: keys import's PutSecretValue is denied", async () => {
    const without = withOperatorPolicy((statements) =>
      statements.map((s) => (s.Sid === "KeySecretValues" ? { ...s, Action: (s.Action as string[]).filter((a) => a !== "secretsmanager:PutSecretValue") } : s)),
    );
    const actor = { ...w.actors.operator, identityPolicies: without.identity.get(`${defaults.name}-operator`)! };
    const failures = await mismatches(actor, poolOpsRequests(w.facts), without);
    expect(failures.length).toBe(5);
    expect(failures.every((f) => f.includes("secretsmanager:PutSecretValue"))).toBe(true);
  });

  test("the kms:CreateGrant statement removed: starting the sandbox and baking an image are denied", async () => {
    const without = withOperatorPolicy((statements) => statements.filter((s) => s.Sid !== "GrantPoolKeyToEc2ForEncryptedVolumes"));
    const actor = { ...w.actors.operator, identityPolicies: without.identity.get(`${defaults.name}-operator`)! };
    const failures = await mismatches(actor, poolOpsRequests(w.facts), without);
    expect(failures).toEqual([expect.stringContaining("kms:CreateGrant"), expect.stringContaining("kms:CreateGrant")]);
  });

  test("the PoolLease statement removed: the operator can no longer take, renew, release or read the lease", async () => {
    const without = withOperatorPolicy((statements) => statements.filter((s) => s.Sid !== "PoolLease"));
    const actor = { ...w.actors.operator, identityPolicies: without.identity.get(`${defaults.name}-operator`)! };
    const failures = await mismatches(actor, poolOpsRequests(w.facts), without);
    expect(failures.map((f) => /(dynamodb:\w+)/.exec(f)?.[1]).sort()).toEqual(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]);
  });

  test("a secret policy denying the deployer's DescribeSecret (the old policy's mistake) fails the Terraform table", async () => {
    const cold = w.facts.secretArn.coldSigningKey;
    const resource = new Map(w.policies.resource);
    const lockout: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [
        ...resource.get(cold)!.Statement,
        {
          Sid: "MetadataOnlyForTheOperator",
          Effect: "Deny",
          Principal: "*",
          Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"],
          Resource: "*",
          Condition: { StringNotEquals: { "aws:PrincipalArn": [w.actors.operator.context["aws:PrincipalArn"]] } },
        },
      ],
    };
    resource.set(cold, lockout);
    const broken = { ...w.policies, resource };
    const failures: string[] = [];
    for (const { address, request } of terraformRequests(w.pool)) failures.push(...(await mismatches(w.actors.deployer, [request], broken, "Allowed", `${address}: `)));
    expect(failures.some((f) => f.includes("secretsmanager:DescribeSecret") && f.includes("ExplicitlyDenied"))).toBe(true);
    expect(failures.some((f) => f.includes("secretsmanager:GetResourcePolicy"))).toBe(true);
  });

  test("a new SDK call without a row is reported, naming the call", () => {
    const table = { ...POOL_OPS_CALLS };
    delete (table as Record<string, unknown>)["ec2:GetConsoleOutput"];
    const missing = sdkCallsIn("ops").filter((c) => !table[c.action]).map((c) => c.action);
    expect(missing).toEqual(["ec2:GetConsoleOutput"]);
  });
});
