/**
 * The pool-wide lease pool-ops takes before changing anything (`rotate-kes`, `promote`, `push-config`, `keys import`,
 * `image bake`, `image rollout`): one DynamoDB table, one item, so two operators on two machines never change the pool
 * at once.
 *
 * Why DynamoDB: a conditional write (`attribute_not_exists(pk) OR expiresAt < :now`) takes a free lease *or takes over
 * an expired one* in one atomic request, and renewal and release are conditional on the holder's token. A create-only
 * SSM parameter can refuse a second taker, but taking over an expired lease there needs a delete then a create, and two
 * takers racing between them both believe they won. S3 conditional writes (If-None-Match / If-Match on the ETag) would
 * also work, but the emulator the tests run on (moto) is not known to honour them faithfully; moto does evaluate
 * DynamoDB condition expressions, so the race tests run against the real semantics.
 *
 * On-demand billing (a few requests per command), AWS's default server-side encryption (the item holds no secret: who,
 * which command, until when), no point-in-time recovery (a lost lease item is a free lease; there is nothing to
 * restore), deletion protection on (destroying the table mid-command would let a second operator in), and a TTL on
 * `expiresAt` so a lease left by a crashed command is eventually removed (correctness never waits for it: the
 * condition compares `expiresAt` itself).
 */
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { Construct } from "constructs";
import { poolLeaseTable } from "../../config/names";

export interface PoolLeaseTableProps {
  /** The pool's name: the table is `<pool>-pool-ops-lease` (config/names.ts). */
  readonly poolName: string;
  /**
   * Refuse `DeleteTable` (Terraform destroy included) until the protection is lifted.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

export class PoolLeaseTable extends Construct {
  readonly table: DynamodbTable;

  constructor(scope: Construct, id: string, props: PoolLeaseTableProps) {
    super(scope, id);
    const schema = poolLeaseTable(props.poolName);
    this.table = new DynamodbTable(this, "table", {
      name: schema.name,
      billingMode: "PAY_PER_REQUEST",
      hashKey: schema.partitionKey,
      attribute: [{ name: schema.partitionKey, type: "S" }],
      ttl: { attributeName: schema.expiresAttribute, enabled: true },
      deletionProtectionEnabled: props.deletionProtection ?? true,
      tags: { Name: schema.name, Role: "security" },
    });
  }

  /** The table's ARN: the only resource the operator's lease permissions name. */
  get tableArn(): string {
    return this.table.arn;
  }
}
