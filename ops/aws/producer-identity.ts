/**
 * Before hot keys (a KES key, a VRF key, an op cert) go to a host: EC2 confirms that the address pool-ops is about to
 * write to belongs to a running instance of this pool's producer tier. The inventory (Terraform outputs, EC2 tags) and
 * known_hosts say which host it should be; this asks AWS, an authenticated channel, what that instance is:
 *
 * - the inventory's instance id exists and is running,
 * - one of its network interfaces has exactly the inventory's private address (so the SSH session pool-ops opened
 *   to that address is that instance's),
 * - its instance profile is the pool's producer profile (`<pool>-producer`, stacks/constructs/tier-roles.ts): only
 *   producers' roles may read the hot secrets, so an instance without it is not a producer whatever its tags say,
 * - its `Pool` and `Role` tags agree (tags alone are not trusted: whoever can tag could retag).
 *
 * Call it after the host key check and before the first write of key material (rotate-kes, promote); it throws
 * ProducerIdentityError naming what disagrees, so nothing is sent.
 */
import type { Instance } from "@aws-sdk/client-ec2";
import { resourceName, TAG_POOL, TAG_ROLE } from "../../config/names";
import { OpsError } from "../remote/result";
import { awsClientSettings, type AwsTarget } from "./client-config";

export interface ProducerCandidate {
  /** Inventory host name, for messages. */
  readonly name: string;
  /** The address the SSH session goes to. */
  readonly privateIp: string;
  readonly instanceId: string;
}

export interface ConfirmedProducer {
  readonly instanceId: string;
  readonly privateIp: string;
  readonly instanceProfileArn: string;
}

export class ProducerIdentityError extends Error {
  override name = "ProducerIdentityError";
  constructor(
    readonly host: string,
    message: string,
  ) {
    super(message);
  }
}

/** The producer tier's instance profile name (stacks/constructs/tier-roles.ts names profiles `<pool>-<tier>`). */
export function producerInstanceProfileName(pool: string): string {
  return resourceName(pool, "producer");
}

function tag(instance: Instance, key: string): string | undefined {
  return instance.Tags?.find((t) => t.Key === key)?.Value;
}

/** The checks on a described instance (pure, so each rule has a test without AWS). */
export function checkProducerInstance(instance: Instance | undefined, candidate: ProducerCandidate, pool: string): ConfirmedProducer {
  const refuse = (why: string) => new ProducerIdentityError(candidate.name, `${candidate.name} is not confirmed as a producer of ${pool} by EC2: ${why}; no key was sent`);
  if (!instance) throw refuse(`instance ${candidate.instanceId} does not exist`);
  const state = instance.State?.Name;
  if (state !== "running") throw refuse(`instance ${candidate.instanceId} is ${state ?? "in no state"}, not running`);
  const addresses = new Set<string>([instance.PrivateIpAddress, ...(instance.NetworkInterfaces ?? []).flatMap((n) => (n.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress))].filter((a): a is string => Boolean(a)));
  if (!addresses.has(candidate.privateIp)) {
    throw refuse(`the inventory says ${candidate.privateIp}, but instance ${candidate.instanceId} has ${[...addresses].join(", ") || "no private address"}`);
  }
  const profile = instance.IamInstanceProfile?.Arn ?? "";
  const expected = producerInstanceProfileName(pool);
  // arn:aws:iam::<account>:instance-profile/<path/>name — the name is the last path segment.
  if (profile.split("/").pop() !== expected || !/^arn:aws[a-z-]*:iam::\d{12}:instance-profile\//.test(profile)) {
    throw refuse(`instance ${candidate.instanceId} runs with instance profile ${profile || "none"}, not ${expected}`);
  }
  if (tag(instance, TAG_POOL) !== pool || tag(instance, TAG_ROLE) !== "producer") {
    throw refuse(`instance ${candidate.instanceId} is tagged ${TAG_POOL}=${tag(instance, TAG_POOL) ?? "-"}, ${TAG_ROLE}=${tag(instance, TAG_ROLE) ?? "-"}`);
  }
  return { instanceId: candidate.instanceId, privateIp: candidate.privateIp, instanceProfileArn: profile };
}

/**
 * Asks EC2 (DescribeInstances by the inventory's instance id) and checks the answer. Throws ProducerIdentityError
 * when EC2 says otherwise, and when EC2 cannot be asked (no credentials, no route): hot keys never go to a host
 * whose identity could not be confirmed.
 */
export async function confirmProducerIdentity(target: AwsTarget, candidate: ProducerCandidate, pool: string): Promise<ConfirmedProducer> {
  const { DescribeInstancesCommand, EC2Client } = await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client(awsClientSettings(target, "ec2"));
  let instance: Instance | undefined;
  try {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [candidate.instanceId] }));
    instance = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === candidate.instanceId);
  } catch (error) {
    const name = (error as Error).name;
    if (name !== "InvalidInstanceID.NotFound" && name !== "InvalidInstanceID.Malformed") {
      throw new ProducerIdentityError(candidate.name, `${candidate.name}: EC2 could not be asked who ${candidate.privateIp} is (${(error as Error).message}); no key was sent`);
    }
  } finally {
    ec2.destroy();
  }
  return checkProducerInstance(instance, candidate, pool);
}

/**
 * `confirmProducerIdentity` for a command's preflight: a refusal becomes the command's OpsError naming the host,
 * with `remedy`; anything else (a bug) is thrown as it is.
 */
export async function assertProducerIdentity(target: AwsTarget, host: ProducerCandidate, pool: string, remedy: string): Promise<void> {
  try {
    await confirmProducerIdentity(target, host, pool);
  } catch (error) {
    if (error instanceof ProducerIdentityError) throw new OpsError(host.name, "preflight", error.message, remedy);
    throw error;
  }
}
