#!/usr/bin/python3
# Run on a node host (or the sandbox) by pool-ops: what the installed cardano-node release ships for one network,
# as JSON on stdout: which files are there, its config.json and topology.json, and the hash of each genesis file its
# config names — Blake2b-256 of the file's bytes for Shelley, Alonzo and Conway, of its canonical JSON for Byron
# (sorted keys, no whitespace: what cardano-node checks ByronGenesisHash against). Python 3 and its standard library
# only: every Debian cloud image has them (cloud-init is Python).
# With a second argument, the cardano-node binary: the version it reports (`--version`), or null when there is none.
# With a third, the host's installed config.json (what `pool-ops status` compares with the release's config plus the
# pool's overlay): its JSON, the hashes of the genesis files *it* names, when it last changed, and when the running
# cardano-node that was given it (`--config PATH`) started — a node started before the file changed runs an older one.
#   release-facts SHARE_DIR/NETWORK [CARDANO_NODE [INSTALLED_CONFIG]]
import hashlib
import json
import os
import re
import subprocess
import sys
import time

GENESIS = {"Byron": "ByronGenesisFile", "Shelley": "ShelleyGenesisFile", "Alonzo": "AlonzoGenesisFile", "Conway": "ConwayGenesisFile"}


def blake2b_256(data):
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f), None
    except OSError as error:
        return None, f"{path}: {error.strerror}"
    except ValueError as error:
        return None, f"{path}: not JSON ({error})"


def genesis_hashes(config, directory, errors):
    """The hash of each genesis file a config names (relative names against `directory`), as cardano-node checks it."""
    hashes = {}
    for era, key in GENESIS.items():
        name = (config or {}).get(key)
        if not isinstance(name, str):
            continue
        path = name if name.startswith("/") else os.path.join(directory, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as error:
            errors.append(f"{path}: {error.strerror}")
            continue
        if era == "Byron":
            try:
                canonical = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            except ValueError as error:
                errors.append(f"{path}: not JSON ({error})")
                continue
            hashes[era] = blake2b_256(canonical)
        else:
            hashes[era] = blake2b_256(data)
    return hashes


def started_with(config_path):
    """Wall-clock start (seconds) of the newest process given `--config config_path`, or None: from /proc, whose
    start times count clock ticks since boot (`/proc/uptime` turns them into wall time to ~10 ms)."""
    ticks = os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    now = time.time()
    newest = None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode("utf-8", "replace").split("\0")
            if not any(a == "--config" and b == config_path for a, b in zip(args, args[1:])):
                continue
            with open(f"/proc/{pid}/stat") as f:
                # Field 22 (starttime); the command name (field 2) may hold spaces, so count after its ')'.
                start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        except (OSError, ValueError, IndexError):
            continue
        started = now - (uptime - start_ticks / ticks)
        newest = started if newest is None else max(newest, started)
    return newest


def installed_facts(path):
    facts = {"path": path, "config": None, "hashes": {}, "errors": [], "modifiedAt": None, "nodeStartedAt": None}
    config, error = load(path)
    if error:
        facts["errors"].append(error)
        return facts
    facts["config"] = config
    facts["modifiedAt"] = os.stat(path).st_mtime
    facts["hashes"] = genesis_hashes(config, os.path.dirname(path), facts["errors"])
    facts["nodeStartedAt"] = started_with(path)
    return facts


def main(argv):
    directory = argv[1]
    facts = {"dir": directory, "present": [], "config": None, "topology": None, "hashes": {}, "errors": [], "nodeVersion": None}
    if len(argv) > 2 and os.access(argv[2], os.X_OK):
        try:
            out = subprocess.run([argv[2], "--version"], capture_output=True, text=True, timeout=30).stdout
            found = re.search(r"cardano-node (\d+\.\d+\.\d+)", out)
            facts["nodeVersion"] = found.group(1) if found else None
        except (OSError, subprocess.SubprocessError) as error:
            facts["errors"].append(f"{argv[2]} --version: {error}")
    if not os.path.isdir(directory):
        facts["errors"].append(f"{directory}: no such directory (the installed release ships no node files for this network)")
        print(json.dumps(facts))
        return 0
    facts["present"] = sorted(os.listdir(directory))
    config, error = load(os.path.join(directory, "config.json"))
    if error:
        facts["errors"].append(error)
    facts["config"] = config
    topology, error = load(os.path.join(directory, "topology.json"))
    if error:
        facts["errors"].append(error)
    facts["topology"] = topology
    facts["hashes"] = genesis_hashes(config, directory, facts["errors"])
    if len(argv) > 3:
        facts["installed"] = installed_facts(argv[3])
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
