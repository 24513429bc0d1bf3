import { asRecords, COMPLIANT, isTrue, violation, type PolicyRule } from "../rule";

/** Every EBS volume (root and data) is encrypted with the pool's customer-managed key. */
export const ebsEncrypted: PolicyRule = {
  id: "EBS-ENCRYPTED-CMK",
  threat: "an unencrypted volume or snapshot leaks the node's files (and any key on it) to whoever gets a copy",
  equivalents: { checkov: ["CKV_AWS_8", "CKV_AWS_3", "CKV_AWS_189"], trivy: ["AVD-AWS-0131", "AVD-AWS-0026", "AVD-AWS-0027"], cdkNag: ["AwsSolutions-EC26"] },
  resourceTypes: ["aws_instance", "aws_ebs_volume", "aws_launch_template"],
  check(resource) {
    const c = resource.config;
    const volumes =
      resource.type === "aws_ebs_volume"
        ? [{ what: "the volume", v: c as Record<string, unknown> }]
        : resource.type === "aws_launch_template"
          ? asRecords(c.block_device_mappings).flatMap((m) => asRecords(m.ebs).map((v) => ({ what: `device ${String(m.device_name)}`, v })))
          : [
              ...asRecords(c.root_block_device).map((v) => ({ what: "the root volume", v })),
              ...asRecords(c.ebs_block_device).map((v) => ({ what: `device ${String(v.device_name)}`, v })),
            ];
    if (resource.type === "aws_instance" && asRecords(c.root_block_device).length === 0) {
      return violation("no root_block_device: the root volume's encryption is left to the account default");
    }
    for (const { what, v } of volumes) {
      if (!isTrue(v.encrypted)) return violation(`${what} is not encrypted`);
      if (!v.kms_key_id) return violation(`${what} is encrypted with the AWS-managed key, not the pool's KMS key`);
    }
    return COMPLIANT;
  },
};
