#!/usr/bin/python3
# Run on a node host (or the sandbox) by pool-ops: what the installed cardano-node release ships for one network,
# as JSON on stdout: which files are there, its config.json and topology.json, and the hash of each genesis file its
# config names — Blake2b-256 of the file's bytes for Shelley, Alonzo and Conway, of its canonical JSON for Byron
# (sorted keys, no whitespace: what cardano-node checks ByronGenesisHash against). Python 3 and its standard library
# only: every Debian cloud image has them (cloud-init is Python).
# With a second argument, the cardano-node binary: the version it reports (`--version`), or null when there is none.
#   release-facts SHARE_DIR/NETWORK [CARDANO_NODE]
import hashlib
import json
import os
import re
import subprocess
import sys

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
    for era, key in GENESIS.items():
        name = (config or {}).get(key)
        if not isinstance(name, str):
            continue
        path = name if name.startswith("/") else os.path.join(directory, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as error:
            facts["errors"].append(f"{path}: {error.strerror}")
            continue
        if era == "Byron":
            try:
                canonical = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            except ValueError as error:
                facts["errors"].append(f"{path}: not JSON ({error})")
                continue
            facts["hashes"][era] = blake2b_256(canonical)
        else:
            facts["hashes"][era] = blake2b_256(data)
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
