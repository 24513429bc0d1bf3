import { decodedUserDataText } from "../test/cloud-config";
import { describe, expect, test } from "vitest";
import { gunzipSync } from "node:zlib";
import { resourcesOf, synthJson, testApp, testPool } from "../test/pool-fixtures";
import { defaultCreditMode, isBurstable } from "./constructs/instance-alarms";
import { delegatorDashboardUid } from "../monitoring/dashboards";
import { publicDashboardAccessToken } from "../monitoring/grafana-access";
import { buildPoolStacks } from "./pool-app";

describe("monitoring stack", () => {
  const config = testPool({ monitoring: { alertEmails: ["ops@example.org", "oncall@example.org"], instanceType: "t3.medium" } });
  const json = synthJson(buildPoolStacks(testApp(), config).monitoring);
  const alarms = resourcesOf(json, "aws_cloudwatch_metric_alarm");
  const alarmNamed = (name: string) => alarms.find((a) => a.alarm_name === `${config.name}-${name}`);

  test("the monitoring host sits in the management subnet with IMDSv2 and an encrypted root", () => {
    const [host] = resourcesOf(json, "aws_instance");
    expect(host).toMatchObject({ instance_type: "t3.medium", metadata_options: { http_tokens: "required" }, root_block_device: { encrypted: true } });
    expect(String(host?.subnet_id)).toMatch(/subnet-management/);
    expect((host?.tags as Record<string, string>).Role).toBe("monitoring");
  });

  test("the host boots with Prometheus, rules, Alertmanager and dashboards, gzipped under EC2's 16 KiB", () => {
    const [host] = resourcesOf(json, "aws_instance");
    const raw = Buffer.from(String(host?.user_data_base64), "base64");
    expect(raw.length).toBeLessThan(16 * 1024);
    const text = decodedUserDataText(gunzipSync(raw).toString());
    for (const path of ["/etc/prometheus/prometheus.yml", "/etc/prometheus/rules/cardano-pool.yml", "/etc/prometheus/alertmanager.yml", "/var/lib/grafana/dashboards/operator.json"]) {
      expect(text).toContain(`path: ${path}`);
    }
    expect(text).toContain("@@ALERT_TOPIC_ARN@@");
    expect(text).toContain("/usr/local/sbin/pool-prepare-monitoring");
    expect(resourcesOf(json, "aws_ssm_parameter").map((p) => p.name)).toEqual([`/${config.name}/alert-topic-arn`]);
  });

  test("one KMS-encrypted alert topic with a subscription per configured e-mail", () => {
    const [topic] = resourcesOf(json, "aws_sns_topic");
    expect(String(topic?.kms_master_key_id)).toMatch(/aws_kms_key/);
    expect(resourcesOf(json, "aws_sns_topic_subscription").map((s) => s.endpoint)).toEqual(["ops@example.org", "oncall@example.org"]);
  });

  test("status-check alarms on every instance; relays auto-recover, producers only notify", () => {
    for (const host of ["relay-1", "relay-4", "producer-1", "producer-2", "bastion", "monitoring"]) {
      expect(alarmNamed(`${host}-system-check`), host).toBeDefined();
      expect(alarmNamed(`${host}-instance-check`), host).toBeDefined();
    }
    const recover = (name: string) => (alarmNamed(`${name}-system-check`)?.alarm_actions as string[]).some((a) => a.endsWith(":ec2:recover"));
    expect(recover("relay-3")).toBe(true);
    expect(recover("producer-1")).toBe(false);
    expect(alarms.every((a) => (a.alarm_actions as string[]).some((x) => x.includes("aws_sns_topic")))).toBe(true);
  });

  test("CPU credit alarms only for burstable types: T3 (unlimited) on surplus credits, T2 (standard) on a low balance", () => {
    expect(isBurstable("t3.micro")).toBe(true);
    expect(isBurstable("t4g.small")).toBe(true);
    expect(isBurstable("m6i.large")).toBe(false);
    expect([defaultCreditMode("t2.micro"), defaultCreditMode("t3a.small"), defaultCreditMode("m6i.large")]).toEqual(["standard", "unlimited", undefined]);
    // The default bastion and monitoring host are T3: in unlimited mode a zero balance throttles nothing; surplus is billed.
    expect(alarms.filter((a) => a.metric_name === "CPUCreditBalance")).toEqual([]);
    const surplus = alarms.filter((a) => a.metric_name === "CPUSurplusCreditBalance");
    expect(surplus.map((a) => String(a.alarm_name)).sort()).toEqual([`${config.name}-bastion-cpu-surplus-credits`, `${config.name}-monitoring-cpu-surplus-credits`]);
    expect(surplus[0]).toMatchObject({ comparison_operator: "GreaterThanThreshold", threshold: 0, statistic: "Minimum", period: 300, evaluation_periods: 12 });
    const t2 = resourcesOf(synthJson(buildPoolStacks(testApp(), testPool({ bastion: { adminCidrs: ["203.0.113.0/24"], instanceType: "t2.micro" } })).monitoring), "aws_cloudwatch_metric_alarm");
    expect(t2.filter((a) => a.metric_name === "CPUCreditBalance").map((a) => a.alarm_name)).toEqual([`${config.name}-bastion-cpu-credits`]);
  });

  test("the monitoring role may publish to the alert topic and list instances for its scrape targets; nothing else is granted here", () => {
    const policies = resourcesOf(json, "aws_iam_role_policy");
    expect(policies.map((p) => p.name).sort()).toEqual(["discover-scrape-targets", "publish-alerts"]);
    const statements = (name: string) => JSON.parse(String(policies.find((p) => p.name === name)?.policy)).Statement as { Action: string | string[]; Resource: string }[];
    expect(statements("publish-alerts")[0]).toMatchObject({ Action: "sns:Publish" });
    expect(String(statements("publish-alerts")[0]?.Resource)).toMatch(/aws_sns_topic/);
    expect(statements("discover-scrape-targets")).toEqual([{ Sid: "DiscoverScrapeTargets", Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"], Resource: "*" }]);
  });

  test("the host's user data does not change with the relay count (Prometheus finds the relays through EC2)", () => {
    const userData = (relays: number) => resourcesOf(synthJson(buildPoolStacks(testApp(), testPool({ relays: { count: relays } })).monitoring), "aws_instance")[0]?.user_data_base64;
    expect(userData(6)).toBe(userData(4));
  });

  test("Grafana keeps no default password and public dashboards are off unless enabled", () => {
    const [host] = resourcesOf(json, "aws_instance");
    const text = decodedUserDataText(gunzipSync(Buffer.from(String(host?.user_data_base64), "base64")).toString());
    expect(text).toContain("GF_SECURITY_ADMIN_PASSWORD=$__file{/etc/grafana/admin-password}");
    expect(text).not.toContain("__FILE");
    expect(text).toContain("GF_PUBLIC_DASHBOARDS_ENABLED=false");
    expect(text).not.toContain("path: /usr/local/sbin/publish-delegator-dashboard");
    expect(json.output?.["public-dashboard-url"]).toBeUndefined();
  });
});

describe("monitoring stack with the public delegator dashboard", () => {
  const config = testPool({ monitoring: { publicDashboard: { enabled: true, cidrs: ["0.0.0.0/0"] } } });
  const stacks = buildPoolStacks(testApp(), config);
  const json = synthJson(stacks.monitoring);
  const network = synthJson(stacks.network);
  const token = publicDashboardAccessToken(config.name);

  test("Grafana's port opens to the configured CIDRs on the monitoring group and the management NACL", () => {
    const grafana = resourcesOf(network, "aws_vpc_security_group_ingress_rule").filter((r) => r.from_port === 3000);
    expect(grafana.map((r) => r.cidr_ipv4 ?? "bastion group").sort()).toEqual(["0.0.0.0/0", "bastion group"]);
    expect(grafana.every((r) => String(r.security_group_id).includes("security-groups_monitoring"))).toBe(true);
    const management = resourcesOf(network, "aws_network_acl").find((n) => (n.tags as Record<string, string>).Tier === "management");
    expect(management?.ingress).toContainEqual(expect.objectContaining({ cidr_block: "0.0.0.0/0", from_port: 3000, to_port: 3000, protocol: "tcp" }));
  });

  test("the host publishes only the delegator dashboard, at a stable URL given as an output", () => {
    const [host] = resourcesOf(json, "aws_instance");
    const text = decodedUserDataText(gunzipSync(Buffer.from(String(host?.user_data_base64), "base64")).toString());
    expect(text).toContain("GF_PUBLIC_DASHBOARDS_ENABLED=true");
    expect(text).toContain("GF_AUTH_ANONYMOUS_ENABLED=false");
    expect(text).toContain(`/api/dashboards/uid/${delegatorDashboardUid(config.name)}/public-dashboards`);
    expect(text).not.toContain(`/api/dashboards/uid/${config.name}-ops/public-dashboards`);
    expect(token).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    expect(publicDashboardAccessToken(config.name)).toBe(token);
    expect(publicDashboardAccessToken("otherpool")).not.toBe(token);
    expect(String(json.output?.["public-dashboard-url"]?.value)).toMatch(new RegExp(`^http://\\$\\{aws_eip\\..*public_ip\\}:3000/public-dashboards/${token}$`));
  });

  test("enabling it without CIDRs is refused, naming the field", () => {
    expect(() => testPool({ monitoring: { publicDashboard: { enabled: true } } })).toThrow(/monitoring\.publicDashboard\.cidrs.*at least one CIDR/);
  });
});
