/**
 * Every policy rule, both ways: the default pool passes the full synth (validations run), and a stack that breaks the
 * rule fails it with a message naming the rule.
 */
import { describe, expect, test } from "vitest";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Route } from "@cdktf/provider-aws/lib/route";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import type { App } from "cdktf";
import { ScratchStack, synthFailure, testPool } from "../../test/pool-fixtures";
import { buildPoolStacks } from "../pool-app";
import { NetworkStack } from "../network-stack";
import { PolicyModel } from "./engine";
import { exemptFromPolicy } from "./exemptions";
import { POLICY_RULES } from "./rules";

const pool = testPool();
const instanceBase = { ami: "ami-12c6146b", instanceType: "t3.micro" };
const goodInstance = {
  ...instanceBase,
  metadataOptions: { httpTokens: "required" },
  rootBlockDevice: { encrypted: true, kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/x" },
};

/** Builds the network stack plus whatever `extra` adds, and returns the synth failure (or undefined). */
function withNetwork(extra: (network: NetworkStack, app: App) => void, changes = {}) {
  return synthFailure((app) => {
    const network = new NetworkStack(app, "network", testPool(changes));
    extra(network, app);
  });
}

function scratch(extra: (stack: ScratchStack) => void) {
  return synthFailure((app) => extra(new ScratchStack(app, "scratch", { config: pool })));
}

describe("policy rules", () => {
  test("the default pool passes every rule", () => {
    expect(synthFailure((app) => buildPoolStacks(app, pool))).toBeUndefined();
  });

  test("each rule documents its threat and scanner equivalents, and ids are unique", () => {
    expect(new Set(POLICY_RULES.map((r) => r.id)).size).toBe(POLICY_RULES.length);
    for (const rule of POLICY_RULES) expect(rule.threat.length, rule.id).toBeGreaterThan(20);
  });

  test("SG-WORLD-INGRESS: admin CIDR 0.0.0.0/0 and a second world-open ingress rule fail synth", () => {
    expect(withNetwork(() => {}, { bastion: { adminCidrs: ["0.0.0.0/0"] } })).toMatch(/policy SG-WORLD-INGRESS violated .*bastion-in-ssh-admin-0.*tcp port 22 is open to 0\.0\.0\.0\/0/);
    const extra = [{ tier: "monitoring", port: 3000, cidrs: ["0.0.0.0/0"], description: "public Grafana" }];
    expect(withNetwork(() => {}, { extraIngress: extra })).toMatch(/policy SG-WORLD-INGRESS violated .*monitoring-in-extra-0-0.*on the monitoring group/);
    // The relay port itself from anywhere, but on the producer group, is refused too.
    const producerWorld = [{ tier: "producer", port: 3001, cidrs: ["0.0.0.0/0"], description: "oops" }];
    expect(withNetwork(() => {}, { extraIngress: producerWorld })).toMatch(/SG-WORLD-INGRESS.*producer group/);
  });

  test("SG-WORLD-INGRESS: the explicit public dashboard switch passes, and only for Grafana's port on monitoring", () => {
    const open = { monitoring: { publicDashboard: { enabled: true, cidrs: ["0.0.0.0/0"] } } };
    expect(synthFailure((app) => buildPoolStacks(app, testPool(open)))).toBeUndefined();
    // The switch's exemption does not cover another world-open rule on the same group.
    const extra = [{ tier: "monitoring", port: 9090, cidrs: ["0.0.0.0/0"], description: "public Prometheus" }];
    expect(withNetwork(() => {}, { ...open, extraIngress: extra })).toMatch(/SG-WORLD-INGRESS violated .*monitoring-in-extra-0-0/);
  });

  test("SG-SSH-ONLY-FROM-BASTION: SSH to a relay from a CIDR fails synth", () => {
    const extra = [{ tier: "relay", port: 22, cidrs: ["10.0.0.0/8"], description: "ssh from the office" }];
    expect(withNetwork(() => {}, { extraIngress: extra })).toMatch(/policy SG-SSH-ONLY-FROM-BASTION violated .*relay-in-extra-0-0.*expected the bastion group only/);
  });

  test("SG-BASTION-ADMIN-CIDRS: the bastion admits only bastion.adminCidrs", () => {
    expect(withNetwork(() => {}, { bastion: { adminCidrs: ["0.0.0.0/0"] } })).toMatch(/policy SG-BASTION-ADMIN-CIDRS violated/);
    const extra = [{ tier: "bastion", port: 22, cidrs: ["192.0.2.0/24"], description: "a second office" }];
    expect(withNetwork(() => {}, { extraIngress: extra })).toMatch(/SG-BASTION-ADMIN-CIDRS.*192\.0\.2\.0\/24, which is not in bastion\.adminCidrs/);
  });

  test("NET-PRODUCER-NO-INTERNET-ROUTE: a default route added to a producer route table fails synth", () => {
    const failure = withNetwork((network) => {
      new Route(network, "sneaky-route", {
        routeTableId: network.vpc.producerRouteTables[0]!.id,
        destinationCidrBlock: "0.0.0.0/0",
        gatewayId: "igw-12345678",
      });
    });
    expect(failure).toMatch(/policy NET-PRODUCER-NO-INTERNET-ROUTE violated by aws_route\.sneaky-route/);
  });

  test("NET-NO-PUBLIC-IP-PRIVATE-TIER: an instance with a public IP in a producer subnet fails synth", () => {
    const failure = withNetwork((network) => {
      new Instance(network, "exposed", { ...goodInstance, subnetId: network.vpc.subnetId("producer-a"), associatePublicIpAddress: true });
    });
    expect(failure).toMatch(/policy NET-NO-PUBLIC-IP-PRIVATE-TIER violated by aws_instance\.exposed/);
    expect(withNetwork((network) => new Instance(network, "fine", { ...goodInstance, subnetId: network.vpc.subnetId("producer-a") }))).toBeUndefined();
  });

  test("EC2-IMDSV2-REQUIRED and EBS-ENCRYPTED-CMK: an instance with IMDSv1 and a plain root volume fails synth", () => {
    const failure = scratch((stack) => new Instance(stack, "legacy", { ...instanceBase, rootBlockDevice: { encrypted: false } }));
    expect(failure).toMatch(/policy EC2-IMDSV2-REQUIRED violated by aws_instance\.legacy/);
    expect(failure).toMatch(/policy EBS-ENCRYPTED-CMK violated by aws_instance\.legacy.*root volume is not encrypted/);
    expect(scratch((stack) => new Instance(stack, "good", goodInstance))).toBeUndefined();
  });

  test("EC2-USER-DATA-SIZE: user data over EC2's 16 KiB fails synth, naming its size; 16 KiB passes", () => {
    const failure = scratch((stack) => new Instance(stack, "bloated", { ...goodInstance, userData: "x".repeat(16 * 1024 + 1) }));
    expect(failure).toMatch(/policy EC2-USER-DATA-SIZE violated by aws_instance\.bloated.*its user data is 16385 bytes, over EC2's 16384/);
    expect(scratch((stack) => new Instance(stack, "full", { ...goodInstance, userData: "x".repeat(16 * 1024) }))).toBeUndefined();
    const gzipped = scratch((stack) => new Instance(stack, "packed", { ...goodInstance, userDataBase64: Buffer.alloc(16 * 1024 + 10).toString("base64") }));
    expect(gzipped).toMatch(/policy EC2-USER-DATA-SIZE violated by aws_instance\.packed.*16394 bytes/);
  });

  test("VPC-FLOW-LOGS and VPC-DEFAULT-SG-CLOSED: a bare VPC fails synth", () => {
    const failure = scratch((stack) => new Vpc(stack, "bare", { cidrBlock: "10.9.0.0/16" }));
    expect(failure).toMatch(/policy VPC-FLOW-LOGS violated by aws_vpc\.bare/);
    expect(failure).toMatch(/policy VPC-DEFAULT-SG-CLOSED violated by aws_vpc\.bare/);
    const withRules = withNetwork((network) => {
      new DefaultSecurityGroup(network, "open-default", {
        vpcId: network.vpc.vpcId,
        ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["10.0.0.0/8"] }],
      });
    });
    expect(withRules).toMatch(/policy VPC-DEFAULT-SG-CLOSED violated by aws_default_security_group\.open-default .*: the default security group has rules/);
  });

  test("KMS-ROTATION: a key without rotation fails synth", () => {
    expect(scratch((stack) => new KmsKey(stack, "static", { description: "no rotation" }))).toMatch(/policy KMS-ROTATION violated by aws_kms_key\.static/);
  });

  test("SNS-ENCRYPTED: a topic without the pool's key fails synth", () => {
    expect(scratch((stack) => new SnsTopic(stack, "plain", { name: "plain" }))).toMatch(/policy SNS-ENCRYPTED violated by aws_sns_topic\.plain .*kms_master_key_id is not set/);
    expect(scratch((stack) => new SnsTopic(stack, "aws-key", { name: "k", kmsMasterKeyId: "alias/aws/sns" }))).toMatch(/SNS-ENCRYPTED .*AWS-managed key/);
  });

  test("NO-SECRET-VALUES-IN-STATE: a secret version with a value fails synth", () => {
    const failure = scratch((stack) => {
      const secret = new SecretsmanagerSecret(stack, "secret", { name: "x" });
      new SecretsmanagerSecretVersion(stack, "value", { secretId: secret.id, secretString: "cold key bytes" });
    });
    expect(failure).toMatch(/policy NO-SECRET-VALUES-IN-STATE violated by aws_secretsmanager_secret_version\.value/);
  });

  test("LOGS-ENCRYPTED-RETENTION: an unencrypted log group kept forever fails synth", () => {
    expect(scratch((stack) => new CloudwatchLogGroup(stack, "plain", { name: "/x" }))).toMatch(/policy LOGS-ENCRYPTED-RETENTION violated by aws_cloudwatch_log_group\.plain .*: the log group has no kms_key_id/);
  });

  test("VPC-ENDPOINT-POLICY: an endpoint without a policy, or open to every account, fails synth", () => {
    const endpoint = { vpcId: "vpc-1", serviceName: "com.amazonaws.eu-west-1.kms", vpcEndpointType: "Interface" };
    expect(scratch((stack) => new VpcEndpoint(stack, "bare", endpoint))).toMatch(/policy VPC-ENDPOINT-POLICY violated by aws_vpc_endpoint\.bare .*has no policy/);
    const open = JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Open", Effect: "Allow", Principal: "*", Action: "kms:*", Resource: "*" }] });
    expect(scratch((stack) => new VpcEndpoint(stack, "open", { ...endpoint, policy: open }))).toMatch(/VPC-ENDPOINT-POLICY violated by aws_vpc_endpoint\.open .*statement Open allows principals of any account/);
  });

  test("an exemption covers only the construct it is attached to, and needs a reason", () => {
    const exempted = scratch((stack) => {
      const key = new KmsKey(stack, "exempt-key", { description: "test" });
      exemptFromPolicy(key, "KMS-ROTATION", "imported key material cannot rotate automatically");
      new KmsKey(stack, "other-key", { description: "test" });
    });
    expect(exempted).toMatch(/KMS-ROTATION violated by aws_kms_key\.other-key/);
    expect(exempted).not.toMatch(/exempt-key/);
    expect(() => scratch((stack) => exemptFromPolicy(new KmsKey(stack, "k", {}), "KMS-ROTATION", "because"))).toThrow(/needs a real reason/);
  });

  test("a rule that throws counts as non-compliant", () => {
    const app = (() => {
      let stack: ScratchStack | undefined;
      synthFailure((a) => {
        stack = new ScratchStack(a, "scratch", { config: pool });
        new KmsKey(stack, "key", { enableKeyRotation: true });
      });
      return stack!;
    })();
    const model = new PolicyModel(pool, [app]);
    const throwing = { ...POLICY_RULES.find((r) => r.id === "KMS-ROTATION")!, check: () => { throw new Error("boom"); } };
    expect(model.check("scratch", [throwing])).toEqual([expect.objectContaining({ ruleId: "KMS-ROTATION", reason: "the check failed: boom" })]);
  });
});
