/**
 * CloudWatch alarms every pool instance gets, independent of the monitoring host (they fire even when it is down):
 * system status check failed (with EC2 auto-recovery where the host may be recovered unattended), instance status
 * check failed, and CPU credits on burstable types.
 *
 * CPU credits, by the family's default credit mode (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/burstable-credits-mode.html):
 * T3, T3a and T4g launch in *unlimited* mode and are kept there — standard mode would throttle the monitoring host to
 * its baseline exactly during an incident, when Prometheus, Alertmanager and Grafana are busiest, and the bastion in
 * the middle of a rollout. In unlimited mode a zero `CPUCreditBalance` means nothing is throttled; what matters is
 * `CPUSurplusCreditBalance`, the credits spent beyond the balance, billed when not paid back within 24 hours. Its
 * alarm fires when the instance has run above its baseline on surplus credits for an hour: time for a larger or a
 * non-burstable type. T2 launches in *standard* mode, where a low `CPUCreditBalance` does mean throttling.
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { Construct } from "constructs";
import { resourceName } from "../../config/names";

export interface AlarmedInstance {
  /** Host name, e.g. relay-1. */
  readonly name: string;
  readonly instanceId: string;
  readonly instanceType: string;
  /**
   * Recover the instance onto healthy hardware when the system check fails (same id, addresses and volumes).
   * Relays: yes. Producers: no — the operator decides between recovery and `pool-ops promote`. @default false
   */
  readonly autoRecover?: boolean;
}

export interface InstanceAlarmsProps {
  readonly poolName: string;
  readonly region: string;
  readonly alertTopicArn: string;
  readonly instances: readonly AlarmedInstance[];
  /** Standard-mode (T2) instances: alarm when the CPU credit balance falls below this. @default 20 */
  readonly minCpuCredits?: number;
  /** Unlimited-mode (T3, T3a, T4g) instances: alarm after this many minutes on surplus credits. @default 60 */
  readonly surplusCreditMinutes?: number;
}

/** Burstable families (t2, t3, t3a, t4g): they throttle or bill extra when credits run out. */
export function isBurstable(instanceType: string): boolean {
  return /^t\d[a-z]*\./.test(instanceType);
}

/** The credit mode a burstable type launches in when none is specified: T2 standard, later families unlimited. */
export function defaultCreditMode(instanceType: string): "standard" | "unlimited" | undefined {
  if (!isBurstable(instanceType)) return undefined;
  return instanceType.startsWith("t2.") ? "standard" : "unlimited";
}

const CREDIT_PERIOD_SECONDS = 300;

export class InstanceAlarms extends Construct {
  readonly alarms: CloudwatchMetricAlarm[] = [];

  constructor(scope: Construct, id: string, props: InstanceAlarmsProps) {
    super(scope, id);
    const notify = [props.alertTopicArn];
    for (const host of props.instances) {
      const base = {
        namespace: "AWS/EC2",
        dimensions: { InstanceId: host.instanceId },
        alarmActions: notify,
        okActions: notify,
        // A stopped instance (fenced producer, sandbox) reports nothing: that is not an alarm.
        treatMissingData: "notBreaching",
      };
      this.alarms.push(
        new CloudwatchMetricAlarm(this, `${host.name}-system-check`, {
          ...base,
          alarmName: resourceName(props.poolName, host.name, "system-check"),
          alarmDescription: `${host.name}: AWS system status check failed${host.autoRecover ? " (recovering the instance)" : ""}`,
          metricName: "StatusCheckFailed_System",
          statistic: "Maximum",
          period: 60,
          evaluationPeriods: 2,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          alarmActions: host.autoRecover ? [`arn:aws:automate:${props.region}:ec2:recover`, ...notify] : notify,
        }),
        new CloudwatchMetricAlarm(this, `${host.name}-instance-check`, {
          ...base,
          alarmName: resourceName(props.poolName, host.name, "instance-check"),
          alarmDescription: `${host.name}: instance status check failed (OS unresponsive, out of memory, full disk)`,
          metricName: "StatusCheckFailed_Instance",
          statistic: "Maximum",
          period: 60,
          evaluationPeriods: 3,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
        }),
      );
      const creditMode = defaultCreditMode(host.instanceType);
      if (creditMode === "standard") {
        this.alarms.push(
          new CloudwatchMetricAlarm(this, `${host.name}-cpu-credits`, {
            ...base,
            alarmName: resourceName(props.poolName, host.name, "cpu-credits"),
            alarmDescription: `${host.name}: CPU credit balance low (${host.instanceType} runs in standard mode: it is throttled to its baseline at zero)`,
            metricName: "CPUCreditBalance",
            statistic: "Minimum",
            period: CREDIT_PERIOD_SECONDS,
            evaluationPeriods: 2,
            threshold: props.minCpuCredits ?? 20,
            comparisonOperator: "LessThanThreshold",
          }),
        );
      } else if (creditMode === "unlimited") {
        const minutes = props.surplusCreditMinutes ?? 60;
        this.alarms.push(
          new CloudwatchMetricAlarm(this, `${host.name}-cpu-credits`, {
            ...base,
            alarmName: resourceName(props.poolName, host.name, "cpu-surplus-credits"),
            alarmDescription:
              `${host.name}: running on surplus CPU credits for ${minutes} minutes (${host.instanceType} is in unlimited mode: ` +
              "surplus not paid back within 24 h is billed; consider a larger or non-burstable type)",
            metricName: "CPUSurplusCreditBalance",
            statistic: "Minimum",
            period: CREDIT_PERIOD_SECONDS,
            evaluationPeriods: Math.max(1, Math.round((minutes * 60) / CREDIT_PERIOD_SECONDS)),
            threshold: 0,
            comparisonOperator: "GreaterThanThreshold",
          }),
        );
      }
    }
  }
}
