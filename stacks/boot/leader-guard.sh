#!/bin/sh
# The leader guard: every boot of a producer, before cardano-node (run by node-boot.sh). Reads /<pool>/leader through
# the VPC endpoint (IMDSv2 for the region). Only when the record names this host: the KES key, VRF key and op cert
# are fetched from Secrets Manager into the active paths and the leader environment (credential flags) is written.
# Anything else — another host named, the record unreadable, the metadata service silent, a secret unreadable — and
# the producer boots as a standby: credentials held aside where no flag names them, the standby environment (no
# credential flag at all), and the reason logged. So an EC2 stop/start, an automatic recovery or a reboot never brings
# back a second forging producer (config/host-layout.ts). Files are written as `nodeFileModes` has them and renamed
# into place in root's directories.
set -u
# The host's settings (cloud-init writes them); POOL_NODE_SETTINGS only for the guard's own tests.
. "${POOL_NODE_SETTINGS:-/etc/default/pool-node}"
# Tools on PATH, then where the image's own binaries are (the bake checks them the same way).
PATH="$PATH:$NODE_BIN_DIR"; export PATH
boot="$NODE_HOME/config/boot"
keys="$NODE_HOME/keys"
held="$keys/standby"
envfile="$NODE_HOME/config/cardano-node.env"
log() { echo "pool-leader-guard: $*" >&2; logger -t pool-leader-guard -- "$*" 2>/dev/null || true; }
umask 077
# Fail within about a minute when an endpoint does not answer (the CLI's defaults: a 60 s connect timeout, 5 tries),
# so a producer cut off from Secrets Manager boots as a standby in time, rather than holding its boot for minutes.
AWS_RETRY_MODE=standard; AWS_MAX_ATTEMPTS=3; export AWS_RETRY_MODE AWS_MAX_ATTEMPTS
awscli() { aws --region "$region" --cli-connect-timeout 5 --cli-read-timeout 15 "$@"; }
FILES="kes.skey vrf.skey node.cert"
for d in "$keys" "$held"; do
  if [ -L "$d" ]; then log "$d is a symbolic link: refusing to follow it"; exit 1; fi
  install -d -m 0750 -o root -g "$NODE_GROUP" "$d" || { log "cannot make $d"; exit 1; }
done

# remove_from DIR: the credential files out of DIR.
remove_from() { for f in $FILES; do rm -f "$1/$f"; done; }

write_env() {
  install -m 0640 -o root -g "$NODE_GROUP" "$boot/env.$1" "$envfile.tmp" && mv -f "$envfile.tmp" "$envfile"
}

# Why the last AWS call failed (its stderr), for fetch_pair's one expected failure.
errfile=$(mktemp) || { log "cannot make a temporary file"; exit 1; }
trap 'rm -f "$errfile"' EXIT

# fetch SECRET FILE DIR OWNER MODE [VERSION_ID]: one secret (that version, else the current one) into DIR/FILE,
# atomically.
fetch() {
  tmp=$(mktemp "$3/.$2.XXXXXX") || return 1
  if ! awscli secretsmanager get-secret-value --secret-id "$1" ${6:+--version-id "$6"} --query SecretString --output text > "$tmp" 2> "$errfile"; then
    rm -f "$tmp"; return 1
  fi
  chown "$4:$NODE_GROUP" "$tmp" && chmod "$5" "$tmp" && mv -f "$tmp" "$3/$2"
}

# fetch_pair DIR: the op cert's current version, then the KES key of that same version id — the pair as pool-ops wrote
# it, both under one id, KES key first (ops/aws/hot-pair-secrets.ts) — so a boot while a rotation writes the next pair
# never gets a KES key and a cert that do not belong together. A KES key with no version of that id was written apart
# from its cert (by a pool-ops older than the pairing): its current version is taken, and that is logged.
fetch_pair() {
  pair=$(awscli secretsmanager get-secret-value --secret-id "$SECRET_OPCERT" --query VersionId --output text 2> "$errfile") || return 1
  fetch "$SECRET_OPCERT" node.cert "$1" root 0640 "$pair" || return 1
  fetch "$SECRET_KES_SIGNING_KEY" kes.skey "$1" root 0640 "$pair" && return 0
  grep -q ResourceNotFoundException "$errfile" || return 1
  log "the KES key secret has no version $pair (written apart from its op cert by an older pool-ops): taking its current version"
  fetch "$SECRET_KES_SIGNING_KEY" kes.skey "$1" root 0640
}

fetch_all() {
  fetch_pair "$1" && fetch "$SECRET_VRF_SIGNING_KEY" vrf.skey "$1" "$NODE_USER" 0600
}

standby() {
  log "standing by: $1"
  # The standby environment first: from here on no restart can start this node with credential flags.
  write_env standby || { log "cannot write the standby environment: not starting the node"; exit 1; }
  for f in $FILES; do
    if [ -e "$keys/$f" ]; then mv -f "$keys/$f" "$held/$f" || { rm -f "$keys/$f"; log "removed $keys/$f (could not hold it aside)"; }; fi
  done
  if [ -n "${region:-}" ]; then fetch_all "$held" || log "the held credentials could not be refreshed from Secrets Manager (promote checks them)"; fi
  exit 0
}

region=""
token=$(curl -sf --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token) || standby "no IMDSv2 token from the instance metadata service"
region=$(curl -sf --max-time 5 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/placement/region) || { region=""; standby "no region from the instance metadata service"; }
command -v aws >/dev/null 2>&1 || { region=""; standby "the AWS CLI is missing (the golden image must carry it)"; }
leader=$(awscli ssm get-parameter --name "$LEADER_PARAMETER" --query Parameter.Value --output text 2>/dev/null) || standby "cannot read $LEADER_PARAMETER (failing closed)"
[ "$leader" = "$HOST_NAME" ] || standby "$LEADER_PARAMETER names $leader"
if ! fetch_all "$keys"; then
  remove_from "$keys"
  standby "this host leads, but its credentials could not be fetched from Secrets Manager"
fi
write_env leader || { remove_from "$keys"; log "cannot write the leader environment: not starting the node"; exit 1; }
remove_from "$held"
log "leading: $LEADER_PARAMETER names $HOST_NAME; credentials in $keys"
