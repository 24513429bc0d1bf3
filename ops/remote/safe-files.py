# pool-ops' file operations on a host, run as root (sudo) by ops/remote/files.ts as `python3 -I -c <this> OP JSON`.
#
# Why a program and not a shell script: root writes into directories the node user may control (/opt/cardano and below:
# node-owned on hosts made before the root-owned layout of config/host-layout.ts). A path-based script (`mktemp`, `chown
# --reference`, `ln -f`, `cp -p`, `mv -f`) resolves every path afresh at every step, so a node that swaps a name for a
# symbolic link between two steps makes root write, chown or copy a file of its choosing (/etc/sudoers, /etc/shadow).
# Here every path is walked from / one component at a time with O_NOFOLLOW|O_DIRECTORY, and every later step works on
# the file descriptors so obtained (openat/renameat/fchown/fchmod via Python's dir_fd=): a link planted anywhere on the
# path is never followed, whenever it is planted. The only links followed are root's own, in directories only root can
# write (Debian's merged /usr: /bin -> usr/bin); the target itself is never a link.
#
# - The new content is staged in a directory only root can enter (mode 0700, created by this run, checked by its
#   descriptor) inside the target's own directory, so the final rename is on one filesystem and atomic, and the node
#   cannot touch the staged file.
# - An existing target, `.bak` or restore target that is not a regular file (a symbolic link, a FIFO, a directory) is
#   refused before anything changes: it can only be there by someone's hand.
# - Parent directories writable by group or others are refused (a root-owned sticky one such as /tmp excepted: others
#   cannot rename or remove what is not theirs); with "parents": "root-owned" every parent must also be owned by root
#   (no other user can then rearrange names on the path at all, so the written file stays what root wrote).
# - `-I` (isolated mode): no PYTHON* variables, no user site, and the current directory is not on sys.path, so a
#   module planted in the login user's (or node's) directory cannot be imported as root.
#
# Exit status: 0 done; 65 content arrived incomplete (checksum); 66 a file to read does not exist; 70 refused for
# safety (message on stderr, nothing changed); 71 any other error.
import errno
import grp
import hashlib
import json
import os
import pwd
import secrets
import stat
import sys

REFUSED = 70
FAILED = 71
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Refused(Exception):
    pass


def refuse(message):
    raise Refused(message)


def split(path):
    if not path.startswith("/"):
        refuse(f"{path}: expected an absolute path")
    parts = [p for p in path.split("/") if p != ""]
    if not parts or any(p in (".", "..") for p in parts):
        refuse(f"{path}: expected a path without . or .. components")
    return parts


def check_dir(fd, shown, policy):
    st = os.fstat(fd)
    if policy == "any":
        return st
    # A root-owned sticky directory (/tmp) lets others add names but not rename or remove ours: safe to pass through.
    if st.st_mode & 0o022 and not (st.st_mode & stat.S_ISVTX and st.st_uid == 0):
        refuse(f"{shown} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}): refusing to write below it")
    if policy == "root-owned" and st.st_uid != 0:
        owner = name_of_uid(st.st_uid)
        refuse(f"{shown} belongs to {owner}, not root: a file below it could be replaced by {owner}")
    return st


def name_of_uid(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def open_dir_at(parent_fd, name, shown):
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            refuse(f"{shown} is a symbolic link or not a directory: refusing to follow it")
        raise


MAX_LINK_HOPS = 16


def trusted_link(dir_fd, name):
    """A symbolic link no one but root can have made or changed: owned by root, in a root-owned directory others
    cannot write (or a root-owned sticky one). Debian's merged /usr (/bin -> usr/bin, /lib -> usr/lib) is such; a link
    the node user plants never is."""
    st = lstat_at(dir_fd, name)
    if st is None or not stat.S_ISLNK(st.st_mode) or st.st_uid != 0:
        return False
    parent = os.fstat(dir_fd)
    return parent.st_uid == 0 and (not parent.st_mode & 0o022 or bool(parent.st_mode & stat.S_ISVTX))


def walk(parts, policy, create=None):
    """A descriptor of the directory /parts[0]/.../parts[-1], reached without following any link but root's own
    (trusted_link). With `create` (owner, group, mode), missing components are made with them; existing ones are
    never changed."""
    fd = os.open("/", DIR_FLAGS)
    check_dir(fd, "/", policy)
    shown = ""
    queue = list(parts)
    hops = 0
    while queue:
        part = queue.pop(0)
        shown = f"{shown}/{part}" if part != ".." else shown.rsplit("/", 1)[0]
        try:
            nfd = os.open(part, DIR_FLAGS, dir_fd=fd)
        except FileNotFoundError:
            if create is None or part == "..":
                os.close(fd)
                raise
            uid, gid, mode = create
            try:
                os.mkdir(part, 0o700, dir_fd=fd)
            except FileExistsError:
                pass
            nfd = open_dir_at(fd, part, shown)
            st = os.fstat(nfd)
            if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o700:
                os.fchown(nfd, uid, gid)
                os.fchmod(nfd, mode)
        except OSError as e:
            if e.errno not in (errno.ELOOP, errno.ENOTDIR) or not trusted_link(fd, part):
                os.close(fd)
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    refuse(f"{shown} is a symbolic link or not a directory: refusing to follow it")
                raise
            hops += 1
            if hops > MAX_LINK_HOPS:
                refuse(f"{shown}: too many symbolic links")
            target = os.readlink(part, dir_fd=fd)
            if target.startswith("/"):
                os.close(fd)
                fd = os.open("/", DIR_FLAGS)
                shown = ""
            else:
                shown = shown.rsplit("/", 1)[0]
            queue = [p for p in target.split("/") if p not in ("", ".")] + queue
            continue
        os.close(fd)
        fd = nfd
        check_dir(fd, shown or "/", policy)
    return fd


def lstat_at(dir_fd, name):
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def kind_of(st):
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link"
    if stat.S_ISDIR(st.st_mode):
        return "a directory"
    if stat.S_ISFIFO(st.st_mode):
        return "a FIFO"
    return "not a regular file"


def open_regular(dir_fd, name, shown):
    """The content and stat of a regular file, opened without following a link, or None when it does not exist."""
    st = lstat_at(dir_fd, name)
    if st is None:
        return None
    if not stat.S_ISREG(st.st_mode):
        refuse(f"{shown} is {kind_of(st)}: refusing (a link or other file planted there could make root act elsewhere)")
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            refuse(f"{shown} changed while being read: refusing")
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks), fst
    finally:
        os.close(fd)


class Staging:
    """A directory only root can enter, made by this run inside `dir_fd` (same filesystem: renames are atomic)."""

    def __init__(self, dir_fd, shown):
        self.dir_fd = dir_fd
        for _ in range(10):
            self.name = f".pool-ops-staging.{secrets.token_hex(6)}"
            try:
                os.mkdir(self.name, 0o700, dir_fd=dir_fd)
                break
            except FileExistsError:
                continue
        else:
            refuse(f"{shown}: could not make a staging directory")
        self.fd = open_dir_at(dir_fd, self.name, f"{shown}/{self.name}")
        st = os.fstat(self.fd)
        if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) != 0o700 or st.st_dev != os.fstat(dir_fd).st_dev:
            refuse(f"{shown}/{self.name} is not the private staging directory this run made: refusing")
        self.entries = []

    def file(self, content, uid, gid, mode):
        name = f"f{len(self.entries)}"
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=self.fd)
        self.entries.append(name)
        try:
            view = memoryview(content)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        return name

    def move(self, entry, to_dir_fd, to_name):
        os.rename(entry, to_name, src_dir_fd=self.fd, dst_dir_fd=to_dir_fd)
        self.entries.remove(entry)

    def close(self):
        for name in self.entries:
            try:
                os.unlink(name, dir_fd=self.fd)
            except OSError:
                pass
        os.close(self.fd)
        # Remove it by name only if the name still is our directory (the node may have renamed things around).
        st = lstat_at(self.dir_fd, self.name)
        if st is not None and stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid():
            try:
                os.rmdir(self.name, dir_fd=self.dir_fd)
            except OSError:
                pass


def uid_of(owner):
    if owner.isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        refuse(f"no user {owner} on this host")


def gid_of(group):
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        refuse(f"no group {group} on this host")


def split_target(path):
    parts = split(path)
    return parts[:-1], parts[-1]


def op_put(args, data):
    path = args["path"]
    policy = args.get("parents", "no-links")
    parents, name = split_target(path)
    if hashlib.sha256(data).hexdigest() != args["sha256"]:
        print("content arrived incomplete (checksum mismatch); target left as it was", file=sys.stderr)
        return 65
    dir_fd = walk(parents, policy)
    shown_dir = "/" + "/".join(parents)
    try:
        previous = open_regular(dir_fd, name, path)
        backup = args.get("backup", True)
        if backup and previous is not None:
            bak = lstat_at(dir_fd, f"{name}.bak")
            if bak is not None and not stat.S_ISREG(bak.st_mode):
                refuse(f"{path}.bak is {kind_of(bak)}: refusing (a link or other file planted there could make root act elsewhere)")
        prev_st = previous[1] if previous else None
        uid = uid_of(args["owner"]) if args.get("owner") else (prev_st.st_uid if prev_st else os.geteuid())
        if args.get("group"):
            gid = gid_of(args["group"])
        elif args.get("owner") or not prev_st:
            gid = os.getegid()
        else:
            gid = prev_st.st_gid
        mode = int(args["mode"], 8) if args.get("mode") else (stat.S_IMODE(prev_st.st_mode) if prev_st else 0o644)
        if previous is not None and previous[0] == data and (prev_st.st_uid, prev_st.st_gid, stat.S_IMODE(prev_st.st_mode)) == (uid, gid, mode):
            print("unchanged")
            return 0
        staging = Staging(dir_fd, shown_dir)
        try:
            new = staging.file(data, uid, gid, mode)
            if backup and previous is not None:
                old = staging.file(previous[0], prev_st.st_uid, prev_st.st_gid, stat.S_IMODE(prev_st.st_mode))
                staging.move(old, dir_fd, f"{name}.bak")
            staging.move(new, dir_fd, name)
            os.fsync(dir_fd)
        finally:
            staging.close()
        print("changed")
        return 0
    finally:
        os.close(dir_fd)


def op_read(args, _data):
    parents, name = split_target(args["path"])
    try:
        dir_fd = walk(parents, "any")
    except FileNotFoundError:
        return 66
    try:
        found = open_regular(dir_fd, name, args["path"])
        if found is None:
            return 66
        sys.stdout.buffer.write(found[0])
        return 0
    finally:
        os.close(dir_fd)


def creation(args):
    uid = uid_of(args["owner"]) if args.get("owner") else os.geteuid()
    gid = gid_of(args["group"]) if args.get("group") else os.getegid()
    return uid, gid, int(args.get("mode", "0755"), 8)


def op_ensure_dir(args, _data):
    """Makes the missing directories of a path with the given owner and mode; existing ones keep theirs."""
    fd = walk(split(args["path"]), args.get("parents", "no-links"), create=creation(args))
    os.close(fd)
    return 0


def op_backup(args, _data):
    """Copies existing regular files into a backup directory only root can enter (made if missing); prints which
    were absent, as JSON."""
    dir_fd = walk(split(args["dir"]), "no-links", create=(os.geteuid(), os.getegid(), 0o700))
    absent = []
    try:
        st = os.fstat(dir_fd)
        if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
            refuse(f"{args['dir']} is not a directory only root can enter (mode {stat.S_IMODE(st.st_mode):o}): refusing to keep backups there")
        for item in args["files"]:
            parents, name = split_target(item["path"])
            try:
                src_fd = walk(parents, "any")
            except FileNotFoundError:
                absent.append(item["path"])
                continue
            try:
                found = open_regular(src_fd, name, item["path"])
            finally:
                os.close(src_fd)
            if found is None:
                absent.append(item["path"])
                continue
            content, fst = found
            if lstat_at(dir_fd, item["as"]) is not None:
                refuse(f"{args['dir']}/{item['as']} exists already: refusing to overwrite a backup")
            fd = os.open(item["as"], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view):]
                os.fchown(fd, fst.st_uid, fst.st_gid)
                os.fchmod(fd, stat.S_IMODE(fst.st_mode))
                os.fsync(fd)
            finally:
                os.close(fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    print(json.dumps({"absent": absent}))
    return 0


def op_restore(args, _data):
    """Puts backed-up files back (each through a private staging file and a rename), and removes the files that were
    absent before (the name only: a link there is removed, never followed)."""
    backup_fd = walk(split(args["dir"]), "no-links")
    try:
        st = os.fstat(backup_fd)
        if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
            refuse(f"{args['dir']} is not a directory only root can enter (mode {stat.S_IMODE(st.st_mode):o}, uid {st.st_uid}): refusing to restore from it")
        for item in args["files"]:
            parents, name = split_target(item["path"])
            dir_fd = walk(parents, args.get("parents", "no-links"))
            try:
                current = lstat_at(dir_fd, name)
                if item.get("absent"):
                    if current is not None and not stat.S_ISDIR(current.st_mode):
                        os.unlink(name, dir_fd=dir_fd)
                    continue
                if current is not None and not stat.S_ISREG(current.st_mode):
                    refuse(f"{item['path']} is {kind_of(current)}: refusing to restore onto it")
                found = open_regular(backup_fd, item["from"], f"{args['dir']}/{item['from']}")
                if found is None:
                    refuse(f"{args['dir']}/{item['from']} is missing: cannot restore {item['path']}")
                content, fst = found
                staging = Staging(dir_fd, "/" + "/".join(parents))
                try:
                    staging.move(staging.file(content, fst.st_uid, fst.st_gid, stat.S_IMODE(fst.st_mode)), dir_fd, name)
                    os.fsync(dir_fd)
                finally:
                    staging.close()
            finally:
                os.close(dir_fd)
    finally:
        os.close(backup_fd)
    return 0


def op_move(args, _data):
    """Renames regular files to other names on the same filesystem (the credentials between keys/ and
    keys/standby/): the source must be a regular file, the destination absent or a regular file — never a link,
    which `mv` would follow into the directory it names. A source already moved (destination present, source
    absent) is fine; both absent is an error. With "owner"/"group"/"mode", missing directories at either end are
    made with them (existing ones keep theirs)."""
    policy = args.get("parents", "no-links")
    create = creation(args) if args.get("mode") else None
    for item in args["files"]:
        from_parents, from_name = split_target(item["from"])
        to_parents, to_name = split_target(item["to"])
        from_fd = walk(from_parents, policy, create=create)
        try:
            to_fd = walk(to_parents, policy, create=create)
        except BaseException:
            os.close(from_fd)
            raise
        try:
            source = lstat_at(from_fd, from_name)
            dest = lstat_at(to_fd, to_name)
            if dest is not None and not stat.S_ISREG(dest.st_mode):
                refuse(f"{item['to']} is {kind_of(dest)}: refusing to move onto it")
            if source is None:
                if dest is None:
                    print(f"missing {item['from']}", file=sys.stderr)
                    return 66
                continue
            if not stat.S_ISREG(source.st_mode):
                refuse(f"{item['from']} is {kind_of(source)}: refusing to move it")
            os.rename(from_name, to_name, src_dir_fd=from_fd, dst_dir_fd=to_fd)
            os.fsync(to_fd)
            os.fsync(from_fd)
        finally:
            os.close(from_fd)
            os.close(to_fd)
    return 0


OPS = {"put": op_put, "read": op_read, "ensure-dir": op_ensure_dir, "backup": op_backup, "restore": op_restore, "move": op_move}


def main():
    op, args = sys.argv[1], json.loads(sys.argv[2])
    data = sys.stdin.buffer.read() if op == "put" else b""
    try:
        return OPS[op](args, data)
    except Refused as e:
        print(f"REFUSED: {e}; nothing was changed", file=sys.stderr)
        return REFUSED
    except FileNotFoundError as e:
        print(f"{e.filename or args.get('path', '')}: no such file or directory", file=sys.stderr)
        return FAILED
    except OSError as e:
        print(f"{e.filename or ''}: {e.strerror}", file=sys.stderr)
        return FAILED


sys.exit(main())
