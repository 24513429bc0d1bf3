/**
 * The instance metadata service's answers (the documented paths under /latest that pool hosts and the AWS CLI read):
 * identity, placement, network, the instance profile's credentials and the user data. Pure: the caller checks the
 * IMDSv2 session token first.
 */

export interface ImdsInstance {
  readonly instanceId: string;
  readonly instanceType: string;
  readonly imageId: string;
  readonly privateIp: string;
  readonly availabilityZone: string;
  readonly roleName: string;
  readonly userDataBase64: string;
}

export interface ImdsAccount {
  readonly region: string;
  readonly accountId: string;
}

/** The text EC2's metadata service returns for a path, or undefined (404). */
export function imdsAnswer(instance: ImdsInstance, account: ImdsAccount, url: string): string | undefined {
  const path = url.split("?")[0]!.replace(/\/+$/, "");
  const hostname = `ip-${instance.privateIp.replace(/\./g, "-")}.${account.region}.compute.internal`;
  // Instance-profile credentials: the emulator accepts any; their shape is the one SDKs parse.
  const credentials = JSON.stringify({
    Code: "Success",
    LastUpdated: new Date().toISOString(),
    Type: "AWS-HMAC",
    AccessKeyId: "ASIALABINSTANCEROLE0",
    SecretAccessKey: "lab-instance-role-secret",
    Token: "lab-instance-role-session",
    Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
  });
  const values: Record<string, string> = {
    "/latest/meta-data": ["ami-id", "hostname", "iam/", "instance-id", "instance-type", "local-hostname", "local-ipv4", "placement/"].join("\n"),
    "/latest/meta-data/ami-id": instance.imageId,
    "/latest/meta-data/instance-id": instance.instanceId,
    "/latest/meta-data/instance-type": instance.instanceType,
    "/latest/meta-data/local-ipv4": instance.privateIp,
    "/latest/meta-data/local-hostname": hostname,
    "/latest/meta-data/hostname": hostname,
    "/latest/meta-data/placement": ["availability-zone", "region"].join("\n"),
    "/latest/meta-data/placement/availability-zone": instance.availabilityZone,
    "/latest/meta-data/placement/region": account.region,
    "/latest/meta-data/iam": "info\nsecurity-credentials/",
    "/latest/meta-data/iam/info": JSON.stringify({ Code: "Success", InstanceProfileArn: `arn:aws:iam::${account.accountId}:instance-profile/${instance.roleName}` }),
    "/latest/meta-data/iam/security-credentials": instance.roleName,
    [`/latest/meta-data/iam/security-credentials/${instance.roleName}`]: credentials,
    "/latest/dynamic/instance-identity/document": JSON.stringify({
      accountId: account.accountId,
      architecture: "x86_64",
      availabilityZone: instance.availabilityZone,
      imageId: instance.imageId,
      instanceId: instance.instanceId,
      instanceType: instance.instanceType,
      privateIp: instance.privateIp,
      region: account.region,
      version: "2017-09-30",
    }),
  };
  if (path === "/latest/user-data") return instance.userDataBase64 ? Buffer.from(instance.userDataBase64, "base64").toString("latin1") : undefined;
  return values[path];
}
