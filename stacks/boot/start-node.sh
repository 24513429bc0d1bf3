#!/bin/sh
# Last of the first-boot scripts: enable the per-boot unit and start cardano-node when its binary is present (golden
# images carry it; on a plain base image the boot logs what is missing instead of failing). Starting cardano-node
# starts pool-node-boot.service first (the unit Requires it): node files from the release, on a producer the leader
# guard. Later boots run the same through systemd, not through cloud-init.
set -eu
. /etc/default/pool-node
systemctl daemon-reload
if [ ! -e /etc/systemd/system/pool-node-boot.service ]; then
  echo "start-node: no pool node on this host (role $HOST_ROLE)" >&2
  exit 0
fi
systemctl enable pool-node-boot.service
if [ -x "$NODE_BIN_DIR/cardano-node" ] && [ -r "$NODE_RELEASE_DIR/$NODE_NETWORK/config.json" ]; then
  systemctl enable --now cardano-node
else
  echo "start-node: $NODE_BIN_DIR/cardano-node or $NODE_RELEASE_DIR/$NODE_NETWORK/ is missing: bake a golden image (pool-ops image bake), then roll it out" >&2
fi
