import { COMPLIANT, violation, type PolicyRule } from "../rule";

/** Every VPC records its traffic. */
export const vpcFlowLogs: PolicyRule = {
  id: "VPC-FLOW-LOGS",
  threat: "without flow logs, a scan, an exfiltration or a misrouted flow leaves no trace to investigate",
  equivalents: { checkov: ["CKV2_AWS_11"], trivy: ["AVD-AWS-0178"], cdkNag: ["AwsSolutions-VPC7"] },
  resourceTypes: ["aws_vpc"],
  check(resource, context) {
    return context.referencing(resource, "aws_flow_log", "vpc_id").length > 0 ? COMPLIANT : violation("the VPC has no aws_flow_log");
  },
};
