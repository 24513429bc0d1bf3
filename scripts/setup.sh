#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine of this kind: OS packages (as root, only when missing)
# and the npm dependencies (npm ci, only when package-lock.json changed since the last install).
set -euo pipefail
cd "$(dirname "$0")/.."

# command → Debian package that provides it
declare -A packages=(
  [/usr/sbin/sshd]=openssh-server
  [/usr/bin/promtool]=prometheus
  [/usr/bin/fab]=fabric
  [/usr/sbin/ip]=iproute2
  [/usr/bin/sudo]=sudo
)
missing=()
for path in "${!packages[@]}"; do
  [ -x "$path" ] || missing+=("${packages[$path]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${missing[*]}; run as root or install them with apt-get" >&2
  else
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
# prometheus's package starts a server we do not use.
if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus prometheus-node-exporter 2>/dev/null || true; fi

command -v terraform >/dev/null || echo "setup: terraform is not on PATH; the emulator tests need it (https://developer.hashicorp.com/terraform/install)" >&2
python3 -c 'import moto.server' 2>/dev/null || echo "setup: python3 cannot import moto; the emulator tests need it (pip install 'moto[server]')" >&2

stamp=node_modules/.package-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
