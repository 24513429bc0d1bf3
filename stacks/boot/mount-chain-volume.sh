#!/bin/sh
# Formats (first boot only) and mounts the chain-database EBS volume at the node's database directory.
# The volume is found by its id (NVMe serial), never by device order, so a wrong disk is never formatted.
set -eu
. /etc/default/pool-node
# udev names an EBS volume on a Nitro instance by its NVMe model and serial, the volume id without its dash.
device="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol${CHAIN_VOLUME_ID#vol-}"
deadline=$(( $(date +%s) + 300 ))
# Terraform attaches the volume after the instance starts: wait for it.
until [ -b "$device" ]; do
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "chain volume $CHAIN_VOLUME_ID not attached after 300 s ($device)" >&2; exit 1; fi
  sleep 2
done
if ! blkid "$device" >/dev/null 2>&1; then mkfs.ext4 -q -L cardano-db "$device"; fi
mkdir -p "$NODE_HOME/db"
# By the device's stable name (the volume id), not by label: another volume with the same label can never be mounted here.
grep -q " $NODE_HOME/db " /etc/fstab || echo "$device $NODE_HOME/db ext4 defaults,noatime,nofail 0 2" >> /etc/fstab
mountpoint -q "$NODE_HOME/db" || mount "$NODE_HOME/db"
chown "$NODE_USER:$NODE_GROUP" "$NODE_HOME/db"
