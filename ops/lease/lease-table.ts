/**
 * The lease's DynamoDB table: four calls on one item, each one atomic. Taking is a conditional put that succeeds only
 * when no lease exists or the one there has expired (`attribute_not_exists(pk) OR expiresAt < :now`), so of two
 * takers racing — on a free lease or on an expired one — exactly one wins. Renewal and release are conditional on the
 * holder's token, so a process that lost its lease (taken over after it expired, or broken) can neither extend nor
 * remove the new holder's.
 */
import { poolLeaseTable } from "../../config/names";
import { awsClientSettings, type AwsTarget } from "../aws/client-config";
import { lazySdk } from "../aws/lazy-sdk";
import { LeaseTableError } from "./lease-errors";
import { fromItem, toItem, type LeaseRecord } from "./lease-record";

/** A request to AWS must not hang a command (or its renewals) for ever. */
const REQUEST_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;

export class LeaseTable {
  readonly name: string;
  private readonly schema;
  private readonly dynamodb;

  constructor(
    target: AwsTarget,
    /** The pool's name: the table and key come from config/names.ts. */
    readonly pool: string,
  ) {
    this.schema = poolLeaseTable(pool);
    this.name = this.schema.name;
    this.dynamodb = lazySdk(
      () => import("@aws-sdk/client-dynamodb"),
      (sdk) => new sdk.DynamoDBClient({ ...awsClientSettings(target, "dynamodb"), requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: CONNECT_TIMEOUT_MS } }),
    );
  }

  private get key() {
    return { [this.schema.partitionKey]: { S: this.schema.leaseItemKey } };
  }

  private failed(what: string, error: unknown): LeaseTableError {
    const e = error as Error;
    const hint = e.name === "ResourceNotFoundException" ? " (the table does not exist: deploy the security stack)" : "";
    return new LeaseTableError(`cannot ${what} the pool's lease in DynamoDB table ${this.name}: ${e.name}: ${e.message}${hint}`);
  }

  /** The lease item as it is now (a strongly consistent read), or undefined when there is none. */
  async read(): Promise<LeaseRecord | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      const { sdk, client } = await this.dynamodb.get();
      item = (await client.send(new sdk.GetItemCommand({ TableName: this.name, Key: this.key, ConsistentRead: true }))).Item;
    } catch (error) {
      throw this.failed("read", error);
    }
    return item ? fromItem(item, this.name) : undefined;
  }

  /** Writes `record` if the lease is free or expired at `nowSeconds`; false when someone else holds it. */
  async putIfFree(record: LeaseRecord, nowSeconds: number): Promise<boolean> {
    try {
      const { sdk, client } = await this.dynamodb.get();
      await client.send(
        new sdk.PutItemCommand({
          TableName: this.name,
          Item: { ...this.key, ...toItem(record) },
          ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt < :now",
          ExpressionAttributeNames: { "#pk": this.schema.partitionKey, "#expiresAt": this.schema.expiresAttribute },
          ExpressionAttributeValues: { ":now": { N: String(nowSeconds) } },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === "ConditionalCheckFailedException") return false;
      throw this.failed("take", error);
    }
  }

  /** Moves the holder's expiry; false when the lease is no longer `token`'s (taken over, broken, gone). */
  async extend(token: string, expiresAt: number): Promise<boolean> {
    try {
      const { sdk, client } = await this.dynamodb.get();
      await client.send(
        new sdk.UpdateItemCommand({
          TableName: this.name,
          Key: this.key,
          UpdateExpression: "SET #expiresAt = :expiresAt",
          ConditionExpression: "#token = :token",
          ExpressionAttributeNames: { "#expiresAt": this.schema.expiresAttribute, "#token": "token" },
          ExpressionAttributeValues: { ":expiresAt": { N: String(expiresAt) }, ":token": { S: token } },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === "ConditionalCheckFailedException") return false;
      throw this.failed("renew", error);
    }
  }

  /**
   * Deletes the lease if it is `token`'s (a release, or `lock break` of the lease it showed); false when it is not
   * (someone else's now, or gone): then nothing is deleted.
   */
  async deleteIfHeldBy(token: string): Promise<boolean> {
    try {
      const { sdk, client } = await this.dynamodb.get();
      await client.send(
        new sdk.DeleteItemCommand({
          TableName: this.name,
          Key: this.key,
          ConditionExpression: "#token = :token",
          ExpressionAttributeNames: { "#token": "token" },
          ExpressionAttributeValues: { ":token": { S: token } },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === "ConditionalCheckFailedException") return false;
      throw this.failed("release", error);
    }
  }

  /** Deletes whatever item is there (`lock break` of a malformed one, which has no token to match). */
  async deleteAny(): Promise<void> {
    try {
      const { sdk, client } = await this.dynamodb.get();
      await client.send(new sdk.DeleteItemCommand({ TableName: this.name, Key: this.key }));
    } catch (error) {
      throw this.failed("remove", error);
    }
  }

  private get journalKey() {
    return { [this.schema.partitionKey]: { S: this.schema.journalItemKey } };
  }

  /** The journal item's text (ops/lease/pool-journal.ts), or undefined when no change is in progress. */
  async readJournal(): Promise<string | undefined> {
    try {
      const { sdk, client } = await this.dynamodb.get();
      const item = (await client.send(new sdk.GetItemCommand({ TableName: this.name, Key: this.journalKey, ConsistentRead: true }))).Item;
      const entry = item?.entry;
      return entry && "S" in entry && typeof entry.S === "string" ? entry.S : undefined;
    } catch (error) {
      throw this.failed("read the journal beside", error);
    }
  }

  async writeJournal(text: string): Promise<void> {
    try {
      const { sdk, client } = await this.dynamodb.get();
      await client.send(new sdk.PutItemCommand({ TableName: this.name, Item: { ...this.journalKey, entry: { S: text } } }));
    } catch (error) {
      throw this.failed("write the journal beside", error);
    }
  }

  async deleteJournal(): Promise<void> {
    try {
      const { sdk, client } = await this.dynamodb.get();
      await client.send(new sdk.DeleteItemCommand({ TableName: this.name, Key: this.journalKey }));
    } catch (error) {
      throw this.failed("remove the journal beside", error);
    }
  }

  close(): void {
    this.dynamodb.destroy();
  }
}
