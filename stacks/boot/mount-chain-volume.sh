#!/bin/sh
# Formats (first boot only) and mounts the chain-database EBS volume at the node's database directory.
# The volume is found by its id (NVMe serial), never by device order, so a wrong disk is never formatted.
set -eu
. /etc/default/pool-node
serial="vol${CHAIN_VOLUME_ID#vol-}"
device=""
deadline=$(( $(date +%s) + 300 ))
while [ -z "$device" ]; do
  for dev in /sys/block/nvme*n1; do
    [ -e "$dev/device/serial" ] || continue
    if [ "$(tr -d ' ' < "$dev/device/serial")" = "$serial" ]; then device="/dev/$(basename "$dev")"; fi
  done
  [ -n "$device" ] && break
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "chain volume $CHAIN_VOLUME_ID not attached after 300 s" >&2; exit 1; fi
  sleep 5
done
if ! blkid "$device" >/dev/null 2>&1; then mkfs.ext4 -q -L cardano-db "$device"; fi
mkdir -p "$NODE_HOME/db"
grep -q "LABEL=cardano-db" /etc/fstab || echo "LABEL=cardano-db $NODE_HOME/db ext4 defaults,noatime,nofail 0 2" >> /etc/fstab
mountpoint -q "$NODE_HOME/db" || mount "$NODE_HOME/db"
chown "$NODE_USER:$NODE_GROUP" "$NODE_HOME/db"
