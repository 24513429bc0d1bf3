/**
 * The pool's leader record: an SSM parameter holding the host name of the producer that forges (Terraform creates
 * it with the primary and ignores later values, so a promotion is never drift). Read by push-config and rotate-kes to
 * know which producer leads; written only by promote.
 */
import { awsClientSettings, type AwsTarget } from "./client-config";
import { lazySdk } from "./lazy-sdk";

export class LeaderParameterError extends Error {
  override name = "LeaderParameterError";
}

export class LeaderParameter {
  private readonly ssm;

  constructor(
    target: AwsTarget,
    /** Parameter name, from the inventory's `parameters.leader` (e.g. `/sandstone/leader`). */
    readonly name: string,
    /** Producer host names from the inventory: a value outside them is refused. */
    private readonly producers: readonly string[],
  ) {
    this.ssm = lazySdk(() => import("@aws-sdk/client-ssm"), (sdk) => new sdk.SSMClient(awsClientSettings(target)));
  }

  async read(): Promise<string> {
    let value: string | undefined;
    try {
      const { sdk, client } = await this.ssm.get();
      const out = await client.send(new sdk.GetParameterCommand({ Name: this.name }));
      value = out.Parameter?.Value;
    } catch (error) {
      throw new LeaderParameterError(`cannot read the leader parameter ${this.name}: ${(error as Error).message}`);
    }
    if (!value || !this.producers.includes(value)) {
      throw new LeaderParameterError(
        `leader parameter ${this.name} holds ${JSON.stringify(value ?? null)}, expected one of ${this.producers.join(", ")}`,
      );
    }
    return value;
  }

  async write(leader: string): Promise<void> {
    if (!this.producers.includes(leader)) throw new LeaderParameterError(`${leader} is not a producer (expected one of ${this.producers.join(", ")})`);
    try {
      const { sdk, client } = await this.ssm.get();
      await client.send(new sdk.PutParameterCommand({ Name: this.name, Value: leader, Type: "String", Overwrite: true }));
    } catch (error) {
      throw new LeaderParameterError(`cannot write the leader parameter ${this.name}: ${(error as Error).message}`);
    }
  }

  close(): void {
    this.ssm.destroy();
  }
}
