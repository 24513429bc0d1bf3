#!/bin/sh
# Last of the boot scripts: start cardano-node when its binary is present (golden images carry it; on a plain base
# image the boot logs what is missing instead of failing).
set -eu
. /etc/default/pool-node
systemctl daemon-reload
if [ -x "$NODE_BIN_DIR/cardano-node" ]; then
  systemctl enable --now cardano-node
else
  echo "start-node: $NODE_BIN_DIR/cardano-node is missing: bake a golden image (pool-ops image bake), then roll it out" >&2
fi
