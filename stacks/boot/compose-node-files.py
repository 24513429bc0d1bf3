#!/usr/bin/python3
# Every boot of a node, before cardano-node: its config.json and topology.json made from the installed release's
# (<share>/<network>/), the same two rules as render/json-merge.ts: relative top-level "...File" references made
# absolute against the release directory (cardano-node resolves them against the naming file's directory), then the
# pool's overlay applied as a JSON Merge Patch (RFC 7386). Python 3 because every Debian cloud image has it (cloud-init
# is Python); no other dependency.
#   compose-node-files RELEASE_FILE OVERLAY_FILE OUTPUT_FILE [GROUP]
# GROUP: the output root's, 0640 to that group (config/host-layout.ts nodeFileModes), set before the rename.
import grp
import json
import os
import sys
import tempfile


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def rebase(document, release_dir):
    result = dict(document)
    for key, value in document.items():
        if key.endswith("File") and isinstance(value, str) and value and not value.startswith("/"):
            result[key] = release_dir.rstrip("/") + "/" + value
    return result


def main(argv):
    if len(argv) not in (4, 5):
        sys.stderr.write("usage: compose-node-files RELEASE_FILE OVERLAY_FILE OUTPUT_FILE [GROUP]\n")
        return 2
    release_file, overlay_file, output_file = argv[1:4]
    group = argv[4] if len(argv) == 5 else None
    try:
        with open(release_file, encoding="utf-8") as f:
            release = json.load(f)
    except OSError as error:
        sys.stderr.write(f"compose-node-files: the installed release has no {release_file} ({error.strerror}): bake a golden image of a release that ships it\n")
        return 66
    with open(overlay_file, encoding="utf-8") as f:
        overlay = json.load(f)
    composed = merge_patch(rebase(release, os.path.dirname(os.path.abspath(release_file))), overlay)
    directory = os.path.dirname(os.path.abspath(output_file))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".compose-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(composed, f, indent=2)
        f.write("\n")
        if group is None:
            os.fchmod(f.fileno(), 0o644)
        else:
            os.fchown(f.fileno(), 0, grp.getgrnam(group).gr_gid)
            os.fchmod(f.fileno(), 0o640)
    os.replace(tmp, output_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
