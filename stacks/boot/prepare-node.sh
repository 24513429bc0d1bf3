#!/bin/sh
# Every node: the service account and directories, node_exporter, and the cardano-node service when its binary
# is present (golden images carry it; a plain base image logs what is missing instead of failing the boot).
set -eu
. /etc/default/pool-node
getent group "$NODE_GROUP" >/dev/null || groupadd --system "$NODE_GROUP"
id "$NODE_USER" >/dev/null 2>&1 || useradd --system --gid "$NODE_GROUP" --home-dir "$NODE_HOME" --shell /usr/sbin/nologin "$NODE_USER"
install -d -m 0755 -o "$NODE_USER" -g "$NODE_GROUP" "$NODE_HOME" "$NODE_HOME/config" "$NODE_HOME/run"
if ! command -v prometheus-node-exporter >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-node-exporter) ||
    echo "prepare-node: node_exporter not installed (no package access from this tier: bake it into the golden image)" >&2
fi
systemctl daemon-reload
if [ -x /usr/local/bin/cardano-node ]; then
  systemctl enable --now cardano-node
else
  echo "prepare-node: /usr/local/bin/cardano-node is missing: bake a golden image (pool-ops image bake), then roll it out" >&2
fi
