/**
 * The pool-wide lease's table on an emulator, made as the security stack makes it: the PoolLeaseTable construct
 * synthesised and created through DynamoDB's own API (lab/deploy/fast-deploy.ts), so a test's table has the stack's key,
 * TTL and deletion protection.
 */
import { Testing } from "cdktf";
import { createDynamodbTables, type TerraformJson } from "../lab/deploy/fast-deploy";
import { awsClientSettings } from "../ops/aws/client-config";
import { PoolLeaseTable } from "../stacks/constructs/pool-lease-table";

export async function createLeaseTable(endpoint: string, region: string, poolName: string): Promise<string[]> {
  const json = JSON.parse(Testing.synthScope((scope) => new PoolLeaseTable(scope, "lease", { poolName }))) as TerraformJson;
  return createDynamodbTables(awsClientSettings({ region, endpoint }), json);
}
