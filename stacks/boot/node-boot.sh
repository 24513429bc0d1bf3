#!/bin/sh
# Every boot of a relay or producer, before cardano-node (pool-node-boot.service: Before=cardano-node.service, which
# Requires it). Makes the node's config.json and topology.json from the installed release's own files
# (<share>/<network>/) and the pool's overlays in the boot dir (written by cloud-init, kept current by push-config),
# then the environment file: a relay's, or on a producer whatever the leader guard decides. All root's, readable by
# the node's group (config/host-layout.ts nodeFileModes). Any failure stops the
# node from starting: better no node than one running files this script could not make.
set -eu
. /etc/default/pool-node
boot="$NODE_HOME/config/boot"
release="$NODE_RELEASE_DIR/$NODE_NETWORK"
log() { echo "pool-node-boot: $*" >&2; }
for f in config topology; do
  /usr/local/sbin/pool-compose-node-files "$release/$f.json" "$boot/$f.overlay.json" "$NODE_HOME/config/$f.json" "$NODE_GROUP"
done
log "composed config.json and topology.json from $release and the pool's overlays"
if [ "$HOST_ROLE" = "producer" ]; then
  exec /usr/local/sbin/pool-leader-guard
fi
install -m 0640 -o root -g "$NODE_GROUP" "$boot/env.relay" "$NODE_HOME/config/cardano-node.env.tmp"
mv -f "$NODE_HOME/config/cardano-node.env.tmp" "$NODE_HOME/config/cardano-node.env"
