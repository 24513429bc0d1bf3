/**
 * CloudWatch alarms every pool instance gets, independent of the monitoring host (they fire even when it is down):
 * system status check failed (with EC2 auto-recovery where the host may be recovered unattended), instance status
 * check failed, and CPU credits running out on burstable types.
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
  /** Alarm when the CPU credit balance of a burstable instance falls below this. @default 20 */
  readonly minCpuCredits?: number;
}

/** Burstable families (t2, t3, t3a, t4g): they throttle or bill extra when credits run out. */
export function isBurstable(instanceType: string): boolean {
  return /^t\d[a-z]*\./.test(instanceType);
}

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
      if (isBurstable(host.instanceType)) {
        this.alarms.push(
          new CloudwatchMetricAlarm(this, `${host.name}-cpu-credits`, {
            ...base,
            alarmName: resourceName(props.poolName, host.name, "cpu-credits"),
            alarmDescription: `${host.name}: CPU credit balance low (${host.instanceType} is burstable)`,
            metricName: "CPUCreditBalance",
            statistic: "Minimum",
            period: 300,
            evaluationPeriods: 2,
            threshold: props.minCpuCredits ?? 20,
            comparisonOperator: "LessThanThreshold",
          }),
        );
      }
    }
  }
}
