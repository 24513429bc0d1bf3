#!/bin/sh
# Every host, first of the boot scripts: chrony reads the Amazon Time Sync source cloud-init wrote to
# /etc/chrony/sources.d/ (Debian's chrony.conf includes that directory), and the host waits briefly for the clock to
# be synchronised. A block producer forges on this clock: a host without chrony says so and fails this step.
set -eu
if ! command -v chronyc >/dev/null 2>&1; then
  echo "sync-time: chrony is not installed: time is not synchronised with 169.254.169.123 (use the Debian 12 EC2 image, or bake chrony in)" >&2
  exit 1
fi
systemctl restart chrony
# Up to 60 s (12 tries, 5 s apart) for a synchronised clock; a later boot step does not depend on it, so only warn.
if ! chronyc waitsync 12 0.1 0 5 >/dev/null 2>&1; then
  echo "sync-time: the clock is not synchronised yet:" >&2
  chronyc tracking >&2 || true
fi
