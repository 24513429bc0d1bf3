/**
 * The lab deployed the way an operator deploys a pool: `npx cdktf deploy` of every stack into the lab's AWS (moto with
 * the hypervisor's hooks), so every instance Terraform creates is a lab machine booted from its user data, and a
 * later `terraform apply -replace` (image rollout) replaces a real machine. Slower than the lab's quick deploy (the
 * AWS provider's fixed waiters: minutes), so only the tests that need Terraform's own state use it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PoolConfig } from "../../config/schema";
import { awsClientSettings } from "../../ops/aws/client-config";
import { runCommand, terraformEnv } from "../../tools/terraform";
import type { DeployedHost } from "./fast-deploy";

export interface CdktfDeployResult {
  readonly hosts: DeployedHost[];
  /** The nodes stack's `inventory` output, as `cdktf deploy --outputs-file` wrote it. */
  readonly inventory: { value: Record<string, unknown> & { bastion: { publicIp: string; privateIp: string } } };
  readonly outputsFile: string;
}

export async function cdktfDeploy(options: { repoDir: string; labDir: string; poolConfigFile: string; synthDir: string; config: PoolConfig; endpoint: string; log: (line: string) => void }): Promise<CdktfDeployResult> {
  const outputsFile = join(options.labDir, "cdktf-outputs.json");
  const env = { ...terraformEnv(options.labDir), POOL_CONFIG: options.poolConfigFile, CHECKPOINT_DISABLE: "1" };
  options.log("cdktf deploy of network, security, nodes and monitoring into the lab's AWS (a few minutes)");
  const deploy = await runCommand(
    "npx",
    ["cdktf", "deploy", "network", "security", "nodes", "monitoring", "--auto-approve", "--skip-provider-lock", "--output", options.synthDir, "--outputs-file", outputsFile],
    { cwd: options.repoDir, env },
  );
  if (deploy.code !== 0) throw new Error(`cdktf deploy into the lab failed:\n${deploy.stdout.slice(-3000)}\n${deploy.stderr.slice(-3000)}`);
  const outputs = JSON.parse(readFileSync(outputsFile, "utf8")) as { nodes: { inventory: CdktfDeployResult["inventory"]["value"] } };
  const { EC2Client, DescribeInstancesCommand } = await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client(awsClientSettings({ region: options.config.region, endpoint: options.endpoint }));
  try {
    const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:Pool", Values: [options.config.name] }, { Name: "instance-state-name", Values: ["running", "pending"] }] }));
    const hosts: DeployedHost[] = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => {
      const tag = (key: string) => i.Tags?.find((t) => t.Key === key)?.Value ?? "";
      return {
        name: tag("Name").replace(new RegExp(`^${options.config.name}-`), ""),
        role: tag("Role") as DeployedHost["role"],
        instanceId: i.InstanceId!,
        privateIp: i.PrivateIpAddress!,
        availabilityZone: i.Placement?.AvailabilityZone ?? "",
      };
    });
    return { hosts, inventory: { value: outputs.nodes.inventory }, outputsFile };
  } finally {
    ec2.destroy();
  }
}
