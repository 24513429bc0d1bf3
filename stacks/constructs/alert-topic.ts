/**
 * Where alerts go: one SNS topic encrypted with the pool's key, with the config's e-mail subscriptions. CloudWatch
 * alarms and the monitoring host's Alertmanager publish to it (the key policy lets CloudWatch use the key).
 */
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { Construct } from "constructs";
import { poolTags, resourceName } from "../../config/names";

export interface AlertTopicProps {
  readonly poolName: string;
  readonly kmsKeyArn: string;
  /** Each gets a subscription; AWS mails a confirmation link first. @default [] */
  readonly emails?: readonly string[];
}

export class AlertTopic extends Construct {
  readonly topic: SnsTopic;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    this.topic = new SnsTopic(this, "topic", {
      name: resourceName(props.poolName, "alerts"),
      kmsMasterKeyId: props.kmsKeyArn,
      tags: poolTags(props.poolName, "monitoring", "alerts"),
    });
    for (const [i, email] of (props.emails ?? []).entries()) {
      new SnsTopicSubscription(this, `email-${i}`, { topicArn: this.topic.arn, protocol: "email", endpoint: email });
    }
  }
}
