/** The image every instance starts from until a golden image is rolled out: an AMI id, or the newest lookup match. */
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import type { Construct } from "constructs";
import type { PoolConfig } from "../../config/schema";

export function baseImageId(scope: Construct, config: PoolConfig): string {
  // The emulator bundles only a few images, so a lookup there finds nothing: its stand-in id is used instead.
  if (config.emulator) return config.emulator.amiId;
  if ("id" in config.ami) return config.ami.id;
  const { owners, namePattern, architecture } = config.ami.lookup;
  const image = new DataAwsAmi(scope, "base-image", {
    mostRecent: true,
    owners,
    filter: [
      { name: "name", values: [namePattern] },
      { name: "architecture", values: [architecture] },
      { name: "state", values: ["available"] },
    ],
  });
  return image.id;
}
