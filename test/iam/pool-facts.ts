/** The concrete ARNs and ids of one synthesised pool that the call tables name, and the actors that call. */
import { poolLeaseTable, poolParameterNames, poolSecretNames, resourceName, type PoolSecretKey } from "../../config/names";
import type { InterfaceEndpointService } from "../../config/schema";
import type { Actor } from "./evaluate";
import { ACCOUNT, managedPolicy, type PoolPolicies, type SynthesisedPool } from "./synthesised-pool";

export interface PoolFacts {
  readonly poolName: string;
  readonly region: string;
  readonly account: string;
  readonly secretArn: Readonly<Record<PoolSecretKey, string>>;
  /** The pool's key (secrets, volumes, the audit log, the alert topic). */
  readonly poolKeyArn: string;
  readonly flowLogsKeyArn: string;
  readonly auditLogGroupArn: string;
  readonly flowLogGroupArn: string;
  readonly alertTopicArn: string;
  /** The pool-wide lease's DynamoDB table. */
  readonly leaseTableArn: string;
  readonly endpointId: (service: InterfaceEndpointService) => string;
  /** A made-up instance of a pool host, tagged as the stacks tag it. */
  readonly instanceArn: (host: string) => string;
  readonly parameterArn: (name: string) => string;
  readonly parameters: ReturnType<typeof poolParameterNames>;
}

export function poolFacts(pool: SynthesisedPool): PoolFacts {
  const { config, region } = pool;
  const names = poolSecretNames(config.name);
  const arnOf = (type: string, match: (c: Record<string, unknown>) => boolean) => {
    const found = pool.resourcesOf(type).find((r) => match(r.config));
    if (!found) throw new Error(`the pool synthesises no ${type} the IAM tables expect`);
    return pool.resolve(found.stack, `\${${type}.${found.name}.arn}`);
  };
  const secretArn = Object.fromEntries(
    (Object.keys(names) as PoolSecretKey[]).map((key) => [key, arnOf("aws_secretsmanager_secret", (c) => c.name === names[key])]),
  ) as Record<PoolSecretKey, string>;
  const keyOf = (stack: string) => {
    const key = pool.resourcesOf("aws_kms_key").find((r) => r.stack === stack)!;
    return pool.resolve(stack, `\${aws_kms_key.${key.name}.arn}`);
  };
  return {
    poolName: config.name,
    region,
    account: ACCOUNT,
    secretArn,
    poolKeyArn: keyOf("security"),
    flowLogsKeyArn: keyOf("network"),
    auditLogGroupArn: arnOf("aws_cloudwatch_log_group", (c) => c.name === `/${config.name}/pool-ops-audit`),
    flowLogGroupArn: arnOf("aws_cloudwatch_log_group", (c) => c.name === `/${config.name}/vpc-flow-logs`),
    alertTopicArn: arnOf("aws_sns_topic", () => true),
    leaseTableArn: arnOf("aws_dynamodb_table", (c) => c.name === poolLeaseTable(config.name).name),
    endpointId: (service) => {
      const endpoint = pool.resourcesOf("aws_vpc_endpoint").find((r) => String(r.config.service_name).endsWith(`.${service}`));
      if (!endpoint) throw new Error(`the pool has no ${service} endpoint`);
      return pool.resolve(endpoint.stack, `\${aws_vpc_endpoint.${endpoint.name}.id}`);
    },
    instanceArn: (host) => `arn:aws:ec2:${region}:${ACCOUNT}:instance/i-0${Buffer.from(host).toString("hex").padEnd(16, "0").slice(0, 16)}`,
    parameterArn: (name) => `arn:aws:ssm:${region}:${ACCOUNT}:parameter${name}`,
    parameters: poolParameterNames(config.name),
  };
}

/** The instance roles by tier, as the security stack names them. */
export const INSTANCE_TIERS = ["relay", "producer", "bastion", "monitoring", "sandbox"] as const;
export type InstanceTier = (typeof INSTANCE_TIERS)[number];

const ADMINISTRATOR = [{ name: "AdministratorAccess", policy: managedPolicy("arn:aws:iam::aws:policy/AdministratorAccess") }];

function roleSession(policies: PoolPolicies, role: string, session: string, name: string, extra: Record<string, string> = {}): Actor {
  const arn = policies.roleArn.get(role);
  if (!arn) throw new Error(`the pool has no role ${role}`);
  return {
    name,
    principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session}`,
    identityPolicies: policies.identity.get(role) ?? [],
    context: { "aws:PrincipalArn": arn, "aws:PrincipalAccount": ACCOUNT, ...extra },
  };
}

export interface PoolActors {
  readonly operator: Actor;
  /** A human of the account allowed to assume the operator role (its trust policy decides, with MFA). */
  readonly operatorHuman: (mfa: boolean) => Actor;
  readonly instanceRole: (tier: InstanceTier) => Actor;
  /** Whoever runs Terraform and `npm run plan`: an administrator of the account, by default. */
  readonly deployer: Actor;
  /** Another administrator role of the same account, not the pool's. */
  readonly unrelatedAdmin: Actor;
  /** An administrator of another account. */
  readonly otherAccount: Actor;
  /** An AWS service principal acting for the pool (logs, CloudWatch alarms). */
  readonly service: (principal: string) => Actor;
}

export const DEPLOYER_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/pool-deployer`;

export function poolActors(pool: SynthesisedPool, policies: PoolPolicies): PoolActors {
  const name = pool.config.name;
  const admin = (principal: string, roleArn: string, label: string, account = ACCOUNT): Actor => ({
    name: label,
    principal,
    identityPolicies: ADMINISTRATOR,
    context: { "aws:PrincipalArn": roleArn, "aws:PrincipalAccount": account },
  });
  return {
    operator: roleSession(policies, resourceName(name, "operator"), "alice", "operator role (MFA)", { "aws:MultiFactorAuthPresent": "true" }),
    operatorHuman: (mfa) => ({
      name: `user alice (${mfa ? "MFA" : "no MFA"})`,
      principal: `arn:aws:iam::${ACCOUNT}:user/alice`,
      identityPolicies: [{ name: "assume-operator", policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] } }],
      context: { "aws:PrincipalArn": `arn:aws:iam::${ACCOUNT}:user/alice`, "aws:PrincipalAccount": ACCOUNT, "aws:MultiFactorAuthPresent": mfa ? "true" : "false" },
    }),
    instanceRole: (tier) => roleSession(policies, resourceName(name, tier), "i-0123456789abcdef0", `${tier} instance role`),
    deployer: admin(`arn:aws:sts::${ACCOUNT}:assumed-role/pool-deployer/ci`, DEPLOYER_ROLE_ARN, "deployer (administrator)"),
    unrelatedAdmin: admin(`arn:aws:sts::${ACCOUNT}:assumed-role/unrelated-admin/bob`, `arn:aws:iam::${ACCOUNT}:role/unrelated-admin`, "an unrelated administrator of the account"),
    otherAccount: admin("arn:aws:sts::999988887777:assumed-role/admin/mallory", "arn:aws:iam::999988887777:role/admin", "an administrator of another account", "999988887777"),
    service: (principal) => ({ name: principal, principal, identityPolicies: [], context: {} }),
  };
}
