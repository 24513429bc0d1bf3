/**
 * Keys and access: the pool's KMS key, the key secrets (containers only), instance roles per tier, the operator role
 * pool-ops runs as, the pool-wide lease pool-ops takes before changing anything, and the audit log group.
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import type { PoolConfig } from "../config/schema";
import type { NetworkStack } from "./network-stack";
import { PoolStack } from "./pool-stack";
import { OperatorRole } from "./constructs/operator-role";
import { PoolKey } from "./constructs/pool-key";
import { PoolLeaseTable } from "./constructs/pool-lease-table";
import { PoolSecrets } from "./constructs/pool-secrets";
import { poolParameterNames } from "../config/names";
import { TierRoles } from "./constructs/tier-roles";

/** pool-ops audit lines are kept for about a year. */
export const AUDIT_LOG_RETENTION_DAYS = 400;

export class SecurityStack extends PoolStack {
  readonly key: PoolKey;
  readonly secrets: PoolSecrets;
  readonly roles: TierRoles;
  readonly operator: OperatorRole;
  readonly auditLogGroup: CloudwatchLogGroup;
  readonly lease: PoolLeaseTable;

  constructor(scope: Construct, id: string, config: PoolConfig, network: NetworkStack) {
    super(scope, id, { config });
    this.key = new PoolKey(this, "key", { poolName: config.name, region: config.region });
    this.roles = new TierRoles(this, "roles", {
      poolName: config.name,
      region: config.region,
      extraStatements: config.iam.extraInstanceStatements,
    });
    this.operator = new OperatorRole(this, "operator", {
      poolName: config.name,
      region: config.region,
      accountId: this.key.accountId,
      trustedPrincipals: config.iam.operatorTrustedPrincipals,
    });
    this.secrets = new PoolSecrets(this, "secrets", {
      poolName: config.name,
      kmsKeyArn: this.key.keyArn,
      accountId: this.key.accountId,
      operatorRoleArn: this.operator.role.arn,
      producerRoleArn: this.roles.roles.producer.arn,
      deployerPrincipals: config.iam.deployerPrincipals,
      ...(network.endpoints.endpointId("secretsmanager") ? { secretsManagerEndpointId: network.endpoints.endpointId("secretsmanager") } : {}),
    });
    const leaderParameter = poolParameterNames(config.name).leader;
    this.roles.grantHotKeys(this.secrets.arnsOf("hot"), this.key.keyArn, `arn:aws:ssm:${config.region}:${this.key.accountId}:parameter${leaderParameter}`);
    this.auditLogGroup = new CloudwatchLogGroup(this, "audit-log", {
      name: `/${config.name}/pool-ops-audit`,
      retentionInDays: AUDIT_LOG_RETENTION_DAYS,
      kmsKeyId: this.key.keyArn,
      tags: { Name: `${config.name}-pool-ops-audit`, Role: "security" },
    });
    // Only the operator takes the lease: no instance role is granted anything on it.
    this.lease = new PoolLeaseTable(this, "lease", { poolName: config.name });
    this.operator.grant({
      kmsKeyArn: this.key.keyArn,
      coldSigningKeyArn: this.secrets.secrets.coldSigningKey.arn,
      counterArn: this.secrets.secrets.opcertCounter.arn,
      hotSecretArns: this.secrets.arnsOf("hot"),
      auditLogGroupArn: this.auditLogGroup.arn,
      leaseTableArn: this.lease.tableArn,
    });

    new TerraformOutput(this, "operator_role_arn", { value: this.operator.role.arn });
    new TerraformOutput(this, "audit_log_group", { value: this.auditLogGroup.name });
    new TerraformOutput(this, "lease_table", { value: this.lease.table.name });
  }
}
