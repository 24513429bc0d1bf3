#!/bin/sh
# The monitoring host: Prometheus, Alertmanager and node_exporter from Debian, Grafana from Grafana's signed apt
# repository, then every service enabled with the configuration cloud-init has already written (monitoring/).
set -eu
. /etc/default/pool-node
export DEBIAN_FRONTEND=noninteractive
# cloud-init has already written /etc/prometheus/prometheus.yml and alertmanager.yml, which these packages ship as
# conffiles: without force-confold dpkg stops at its "keep or replace?" prompt and, with no terminal, fails the install.
# force-confdef takes the default answer for every other conffile question.
KEEP_OURS="-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
apt-get update -qq
apt-get install -y -qq $KEEP_OURS prometheus prometheus-alertmanager prometheus-node-exporter apt-transport-https gnupg curl awscli
if ! command -v grafana-server >/dev/null 2>&1; then
  install -d -m 0755 /etc/apt/keyrings
  curl -fsSL https://apt.grafana.com/gpg.key | gpg --dearmor -o /etc/apt/keyrings/grafana.gpg
  echo "deb [signed-by=/etc/apt/keyrings/grafana.gpg] https://apt.grafana.com stable main" > /etc/apt/sources.list.d/grafana.list
  apt-get update -qq
  apt-get install -y -qq $KEEP_OURS grafana
fi
# Alertmanager's receiver: the pool's alert topic, published in SSM by the monitoring stack.
token=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)
region=$(curl -sf -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/placement/region)
topic=$(aws --region "$region" ssm get-parameter --name "/$POOL_NAME/alert-topic-arn" --query Parameter.Value --output text)
sed -i "s|@@ALERT_TOPIC_ARN@@|$topic|" /etc/prometheus/alertmanager.yml
# Grafana's admin password: generated here, once, readable by root and Grafana only (never in user data or state).
if [ ! -s /etc/grafana/admin-password ]; then
  (umask 077; openssl rand -hex 24 | tr -d '\n' > /etc/grafana/admin-password)
fi
chown root:grafana /etc/grafana/admin-password
chmod 0640 /etc/grafana/admin-password
systemctl daemon-reload
# Grafana (port 3000) admits the bastion's security group, and the public dashboard's CIDRs only when enabled.
for unit in prometheus prometheus-alertmanager prometheus-node-exporter grafana-server; do
  systemctl enable "$unit"
  systemctl restart "$unit"
done
if [ -x /usr/local/sbin/publish-delegator-dashboard ]; then
  /usr/local/sbin/publish-delegator-dashboard
fi
