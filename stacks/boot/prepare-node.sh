#!/bin/sh
# Every node, first of the boot scripts: the service account, its directories, and node_exporter.
set -eu
. /etc/default/pool-node
getent group "$NODE_GROUP" >/dev/null || groupadd --system "$NODE_GROUP"
id "$NODE_USER" >/dev/null 2>&1 || useradd --system --gid "$NODE_GROUP" --home-dir "$NODE_HOME" --shell /usr/sbin/nologin "$NODE_USER"
install -d -m 0755 -o "$NODE_USER" -g "$NODE_GROUP" "$NODE_HOME" "$NODE_HOME/config" "$NODE_HOME/run"
if ! command -v prometheus-node-exporter >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-node-exporter) ||
    echo "prepare-node: node_exporter not installed (no package access from this tier: bake it into the golden image)" >&2
fi
