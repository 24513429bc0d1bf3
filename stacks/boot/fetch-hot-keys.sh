#!/bin/sh
# Producers only: fetch the KES key, VRF key and op cert from Secrets Manager (through the VPC endpoint) at boot,
# so no key is ever baked into an image. The leader (per the pool's SSM leader parameter) gets them where its node
# forges with them; the standby holds them aside, where no SIGHUP can make its node forge (config/host-layout.ts).
# Each file is written owner-only and renamed into place atomically.
set -eu
. /etc/default/pool-node
command -v aws >/dev/null || { echo "fetch-hot-keys: the AWS CLI is missing (bake it into the golden image)" >&2; exit 1; }
token=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)
region=$(curl -sf -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/placement/region)
umask 077
leader=$(aws --region "$region" ssm get-parameter --name "$LEADER_PARAMETER" --query Parameter.Value --output text) || {
  echo "fetch-hot-keys: cannot read $LEADER_PARAMETER; holding the keys aside (this producer will not forge until promoted)" >&2
  leader=unknown
}
if [ "$leader" = "$HOST_NAME" ]; then dir="$NODE_HOME/keys"; else dir="$NODE_HOME/keys/standby"; fi
install -d -m 0700 -o "$NODE_USER" -g "$NODE_GROUP" "$NODE_HOME/keys" "$NODE_HOME/keys/standby"
fetch() {
  secret="$1"; target="$dir/$2"
  tmp=$(mktemp "$target.XXXXXX")
  if ! aws --region "$region" secretsmanager get-secret-value --secret-id "$secret" --query SecretString --output text > "$tmp"; then
    rm -f "$tmp"; echo "fetch-hot-keys: cannot read $secret (not imported yet? run pool-ops keys import)" >&2; return 1
  fi
  chown "$NODE_USER:$NODE_GROUP" "$tmp"; chmod 0600 "$tmp"; mv -f "$tmp" "$target"
}
fetch "$SECRET_KES_SIGNING_KEY" kes.skey
fetch "$SECRET_VRF_SIGNING_KEY" vrf.skey
fetch "$SECRET_OPCERT" node.cert
