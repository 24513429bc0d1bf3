import { asRecords, COMPLIANT, violation, type PolicyRule } from "../rule";

/** Instance metadata only through session tokens (IMDSv2). */
export const imdsv2Required: PolicyRule = {
  id: "EC2-IMDSV2-REQUIRED",
  threat: "IMDSv1 lets an SSRF or a proxied request steal the instance role's credentials",
  equivalents: { checkov: ["CKV_AWS_79"], trivy: ["AVD-AWS-0028"], cdkNag: ["EC2IMDSv2Enabled"] },
  resourceTypes: ["aws_instance", "aws_launch_template"],
  check(resource) {
    const options = asRecords(resource.config.metadata_options)[0];
    return options?.http_tokens === "required" ? COMPLIANT : violation("metadata_options.http_tokens is not \"required\"");
  },
};
