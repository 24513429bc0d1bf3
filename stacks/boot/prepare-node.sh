#!/bin/sh
# Every node, first of the node's boot scripts: the service account and its directories. (node_exporter comes with the
# golden image, installed and enabled by the bake: nothing is installed from a package archive at boot, since
# producers have no route to one.)
set -eu
. /etc/default/pool-node
getent group "$NODE_GROUP" >/dev/null || groupadd --system "$NODE_GROUP"
id "$NODE_USER" >/dev/null 2>&1 || useradd --system --gid "$NODE_GROUP" --home-dir "$NODE_HOME" --shell /usr/sbin/nologin "$NODE_USER"
# As config/host-layout.ts nodeFileModes: the node writes only run/ (and its database).
install -d -m 0755 -o root -g root "$NODE_HOME"
install -d -m 0750 -o root -g "$NODE_GROUP" "$NODE_HOME/config" "$NODE_HOME/config/boot"
install -d -m 0755 -o "$NODE_USER" -g "$NODE_GROUP" "$NODE_HOME/run"
