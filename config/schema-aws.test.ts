import { describe, expect, test } from "vitest";
import { parsePoolConfig, PoolConfigError } from "./load";
import { TEST_POOL } from "../test/pool-fixtures";

function problemsOf(iam: unknown): string[] {
  try {
    parsePoolConfig({ ...TEST_POOL, iam }, "pool.yaml");
  } catch (error) {
    if (error instanceof PoolConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("iam.deployerPrincipals", () => {
  test("defaults to none; role and user ARNs are accepted", () => {
    expect(parsePoolConfig(TEST_POOL, "pool.yaml").iam.deployerPrincipals).toEqual([]);
    expect(problemsOf({ deployerPrincipals: ["arn:aws:iam::123456789012:role/ci/pool-deployer", "arn:aws:iam::123456789012:user/alice"] })).toEqual([]);
  });

  test("a session ARN, a wildcard or something else is refused naming the entry", () => {
    for (const bad of ["arn:aws:sts::123456789012:assumed-role/deployer/ci", "arn:aws:iam::123456789012:role/*", "deployer"]) {
      expect(problemsOf({ deployerPrincipals: [bad] })).toEqual([expect.stringMatching(/^iam\.deployerPrincipals\[0\]: expected the ARN of an IAM role or user/)]);
    }
  });
});

describe("vpc.interfaceEndpoints", () => {
  test("secretsmanager and ssm are required: producers boot through them", () => {
    let problems: string[] = [];
    try {
      parsePoolConfig({ ...TEST_POOL, vpc: { interfaceEndpoints: ["secretsmanager", "kms"] } }, "pool.yaml");
    } catch (error) {
      problems = [...(error as PoolConfigError).problems];
    }
    expect(problems).toEqual([expect.stringMatching(/^vpc\.interfaceEndpoints: expected secretsmanager and ssm among them: producers read their keys and the leader record/)]);
    expect(parsePoolConfig({ ...TEST_POOL, vpc: { interfaceEndpoints: ["ssm", "secretsmanager"] } }, "pool.yaml").vpc.interfaceEndpoints).toEqual(["ssm", "secretsmanager"]);
  });
});
