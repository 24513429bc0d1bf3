#!/bin/sh
# Formats (first boot only) and mounts the chain-database EBS volume at the node's chain mount, and makes the node's
# database directory inside it (the node refuses a non-empty database directory without its protocolMagicId marker,
# and a fresh ext4 root holds lost+found). The volume is found by its id (the NVMe by-id name udev gives it), never
# by device order, so a wrong disk is never formatted. The mount root stays root's: with the volume unmounted the node user cannot write
# the database onto the root volume (and the unit refuses to start: RequiresMountsFor, AssertPathIsMountPoint).
set -eu
. /etc/default/pool-node
# udev names an EBS volume on a Nitro instance by its NVMe model and serial, the volume id without its dash.
device="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol${CHAIN_VOLUME_ID#vol-}"
mnt="$NODE_HOME/db"
deadline=$(( $(date +%s) + 300 ))
# Terraform attaches the volume after the instance starts: wait for it.
until [ -b "$device" ]; do
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "chain volume $CHAIN_VOLUME_ID not attached after 300 s ($device)" >&2; exit 1; fi
  sleep 2
done
if ! blkid "$device" >/dev/null 2>&1; then mkfs.ext4 -q -L cardano-db "$device"; fi
install -d -m 0755 -o root -g root "$mnt"
# By the device's stable name (the volume id), not by label: another volume with the same label can never be mounted
# here. A line for this mount point naming another volume (an image made from another instance) gives way to ours.
sed -i "\\| $mnt |{\\|^$device |!d}" /etc/fstab
grep -q "^$device $mnt " /etc/fstab || echo "$device $mnt ext4 defaults,noatime,nofail 0 2" >> /etc/fstab
mountpoint -q "$mnt" || mount "$mnt"
mountpoint -q "$mnt" || { echo "chain volume not mounted at $mnt" >&2; exit 1; }
chown root:root "$mnt"
chmod 0755 "$mnt"
# A volume from before the database moved into node/ (its marker at the root): move the database in, once.
if [ -e "$mnt/protocolMagicId" ] && [ ! -e "$mnt/node" ]; then
  mkdir "$mnt/node.moving"
  for entry in "$mnt"/* "$mnt"/.[!.]*; do
    [ -e "$entry" ] || continue
    case "$(basename "$entry")" in lost+found|node.moving) ;; *) mv "$entry" "$mnt/node.moving/" ;; esac
  done
  mv "$mnt/node.moving" "$mnt/node"
fi
install -d -m 0750 -o "$NODE_USER" -g "$NODE_GROUP" "$mnt/node"
