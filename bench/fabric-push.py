#!/usr/bin/python3
"""The Fabric side of bench/push-file.ts: push one file to every node through the bastion the idiomatic Fabric 2
way (ThreadingGroup with a gateway Connection), with the same atomic steps pool-ops takes: upload, owner/mode, fsync,
keep .bak, rename, as root through sudo.

usage: fabric-push.py INVENTORY.json KNOWN_HOSTS IDENTITY USER LOCAL REMOTE
Prints one JSON line: {"seconds": <wall time of the push>, "hosts": {host: "ok" | error}}.
"""
import json
import shlex
import sys
import time

from fabric import Connection, ThreadingGroup
from fabric.exceptions import GroupException
from paramiko import RejectPolicy

inventory_path, known_hosts, identity, user, local, remote = sys.argv[1:7]
started = time.monotonic()
with open(inventory_path) as f:
    doc = json.load(f)
inv = doc["inventory"]["value"] if "inventory" in doc else doc


def verified(connection):
    # Same trust as pool-ops: the lab's known_hosts, unknown keys refused (Fabric's default would auto-add them).
    connection.client.load_host_keys(known_hosts)
    connection.client.set_missing_host_key_policy(RejectPolicy())
    return connection


connect_kwargs = {"key_filename": identity, "look_for_keys": False, "allow_agent": False}
# One gateway Connection object shared by every node, so one bastion connection, as with pool-ops.
gateway = verified(Connection(inv["bastion"]["publicIp"], port=inv.get("bastionPort", 22), user=user, connect_kwargs=connect_kwargs))
group = ThreadingGroup(*[h["privateIp"] for h in inv["hosts"]], user=user, gateway=gateway, connect_kwargs=connect_kwargs)
for c in group:
    verified(c)

# Relative: the login user's home, which is per host in the lab (its /tmp is shared by every lab host).
upload = "fabric-push.upload"
staged = f"{remote}.fabric-push"
script = (
    f"mv -f ~{user}/{upload} {staged} && chown cardano:cardano {staged} && chmod 0640 {staged} && sync {staged} && "
    f"if [ -f {remote} ]; then ln -f {remote} {remote}.bak; fi && mv -f {staged} {remote}"
)
outcome = {c.host: "ok" for c in group}
try:
    try:
        # Open the shared gateway before the threads use it: concurrent first use of one gateway races in
        # paramiko ("No existing session", "Authentication timeout").
        gateway.open()
        group.put(local, remote=upload)  # SFTP as the login user, in parallel
        group.sudo(f"sh -c {shlex.quote(script)}", hide=True)  # the privileged steps, in parallel
    except GroupException as e:
        for c, result in e.result.items():
            if isinstance(result, Exception):
                outcome[c.host] = f"{type(result).__name__}: {result}"
finally:
    elapsed = time.monotonic() - started
    group.close()
    gateway.close()
print(json.dumps({"seconds": elapsed, "hosts": outcome}))
