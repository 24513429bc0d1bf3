/**
 * Watching the pool: the monitoring host (Prometheus, Alertmanager, Grafana) in the management subnet, the alert
 * topic, and CloudWatch alarms on every instance. Only the monitoring security group may scrape the nodes (network
 * stack); Grafana is reached through an SSH tunnel via the bastion, and its delegator dashboard from
 * monitoring.publicDashboard.cidrs when the operator enables it.
 */
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { TerraformOutput, Token } from "cdktf";
import type { Construct } from "constructs";
import { poolAddressPlan } from "../config/address-plan";
import type { PoolConfig } from "../config/schema";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { gzipSync } from "node:zlib";
import { poolParameterNames, resourceName } from "../config/names";
import { GRAFANA_PORT, publicDashboardPath } from "../monitoring/grafana-access";
import { ALERT_TOPIC_PLACEHOLDER, monitoringFiles } from "../monitoring/monitoring-files";
import { hostBootText } from "./boot/boot-plan";
import type { BootFile } from "./boot/cloud-init";
import { AlertTopic } from "./constructs/alert-topic";
import { baseImageId } from "./constructs/base-image";
import { policyDocument } from "./constructs/iam-policy-document";
import { InstanceAlarms, type AlarmedInstance } from "./constructs/instance-alarms";
import { PoolInstance } from "./constructs/pool-instance";
import type { NetworkStack } from "./network-stack";
import type { NodesStack } from "./nodes-stack";
import { PoolStack } from "./pool-stack";
import type { SecurityStack } from "./security-stack";

/** The monitoring host's configuration as boot files (the topic ARN filled in at boot by prepare-monitoring.sh). */
function monitoringBootFiles(config: PoolConfig): BootFile[] {
  return monitoringFiles(config, { alertTopicArn: ALERT_TOPIC_PLACEHOLDER }).map((f) => ({ path: f.path, content: f.content, mode: f.mode }));
}

export class MonitoringStack extends PoolStack {
  readonly host: PoolInstance;
  readonly alerts: AlertTopic;
  readonly alarms: InstanceAlarms;

  constructor(scope: Construct, id: string, config: PoolConfig, network: NetworkStack, security: SecurityStack, nodes: NodesStack) {
    super(scope, id, { config });
    const plan = poolAddressPlan(config);
    const monitoringHost = plan.hosts.find((h) => h.role === "monitoring");
    if (!monitoringHost) throw new Error("the address plan has no monitoring host");

    this.alerts = new AlertTopic(this, "alerts", { poolName: config.name, kmsKeyArn: security.key.keyArn, emails: config.monitoring.alertEmails });

    this.host = new PoolInstance(this, "host", {
      poolName: config.name,
      hostName: monitoringHost.name,
      role: "monitoring",
      subnetId: network.vpc.subnetId(monitoringHost.subnetId),
      availabilityZone: monitoringHost.availabilityZone,
      privateIp: monitoringHost.privateIp,
      securityGroupIds: [network.securityGroups.securityGroupId("monitoring")],
      instanceProfileName: security.roles.profiles.monitoring.name,
      instanceType: config.monitoring.instanceType,
      amiId: baseImageId(this, config),
      kmsKeyArn: security.key.keyArn,
      rootVolumeGiB: config.rootVolumeGiB,
      // Rules and dashboards make the text larger than EC2's 16 KiB: gzip it (cloud-init reads gzip user data). The
      // alert topic's ARN is read at boot from its SSM parameter, so the text holds no Terraform reference.
      userDataBase64: gzipSync(hostBootText(config, monitoringHost, false, monitoringBootFiles(config))).toString("base64"),
      // Alertmanager reaches SNS and the host its package mirrors; its group admits nothing from the internet.
      elasticIp: true,
    });

    const topicParameter = new SsmParameter(this, "alert-topic-arn", {
      name: poolParameterNames(config.name).alertTopicArn,
      type: "String",
      value: this.alerts.topic.arn,
      description: "The pool's alert topic; the monitoring host's Alertmanager reads it at boot",
      tags: { Name: resourceName(config.name, "alert-topic-arn"), Role: "monitoring" },
    });

    // Alertmanager publishes to the alert topic with the instance role, and learns the topic at boot.
    new IamRolePolicy(this, "monitoring-publishes-alerts", {
      role: security.roles.roles.monitoring.id,
      name: "publish-alerts",
      policy: policyDocument(
        { Sid: "PublishAlerts", Effect: "Allow", Action: "sns:Publish", Resource: this.alerts.topic.arn },
        { Sid: "ReadAlertTopicParameter", Effect: "Allow", Action: "ssm:GetParameter", Resource: topicParameter.arn },
        {
          Sid: "EncryptForTheTopic",
          Effect: "Allow",
          Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
          Resource: security.key.keyArn,
          Condition: { StringEquals: { "kms:ViaService": `sns.${config.region}.amazonaws.com` } },
        },
      ),
    });

    // Prometheus finds its scrape targets through EC2 (monitoring/monitoring-files.ts, ec2_sd_configs), so relays a
    // rollout adds or removes are scraped or dropped without touching the host. Neither call supports resource-level
    // permissions (AWS's Service Authorization Reference lists no resource type for them): "*" is the only resource.
    // DescribeAvailabilityZones is optional to Prometheus (the zone-id label); granted so it is not refused every refresh.
    new IamRolePolicy(this, "monitoring-discovers-targets", {
      role: security.roles.roles.monitoring.id,
      name: "discover-scrape-targets",
      policy: policyDocument({ Sid: "DiscoverScrapeTargets", Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"], Resource: "*" }),
    });

    const instances: AlarmedInstance[] = [
      ...nodes.relays.relays.map((r, i) => ({ name: `relay-${i + 1}`, instanceId: r.instance.id, instanceType: config.relays.instanceType, autoRecover: true })),
      ...nodes.producers.producers.map((p, i) => ({ name: `producer-${i + 1}`, instanceId: p.instance.id, instanceType: config.producers.instanceType })),
      { name: "bastion", instanceId: nodes.bastion.host.instance.id, instanceType: config.bastion.instanceType, autoRecover: true },
      { name: "monitoring", instanceId: this.host.instance.id, instanceType: config.monitoring.instanceType, autoRecover: true },
    ];
    this.alarms = new InstanceAlarms(this, "alarms", { poolName: config.name, region: config.region, alertTopicArn: this.alerts.topic.arn, instances });

    new TerraformOutput(this, "monitoring-host", {
      description: "Monitoring host and alert topic (Grafana: ssh -L 3000:<privateIp>:3000 through the bastion)",
      // A token, not a plain object: cdktf 0.21's TerraformOutput checks plain values with util.isArray, deprecated
      // (DEP0044, printed) since Node 22. The token resolves to the same JSON.
      value: Token.asAny({
        name: monitoringHost.name,
        role: "monitoring",
        privateIp: monitoringHost.privateIp,
        instanceId: this.host.instance.id,
        availabilityZone: monitoringHost.availabilityZone,
        alertTopicArn: this.alerts.topic.arn,
      }),
    });
    if (config.monitoring.publicDashboard.enabled) {
      new TerraformOutput(this, "public-dashboard-url", {
        description: "The delegator dashboard, public to monitoring.publicDashboard.cidrs",
        value: `http://${this.host.publicIp}:${GRAFANA_PORT}${publicDashboardPath(config.name)}`,
      });
    }
  }
}
