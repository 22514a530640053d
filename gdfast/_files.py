"""Writing files so that a reader never sees half of one, and never loses one.

Every file gdfast writes (denoised images, checkpoints, zarr OUTPUT folders)
goes first to a temporary in the target's folder, named

    .<target name>.gdfast-tmp-h<host>-<pid>-<8 hex digits>

(<host>: 8 hex digits of this machine's name; the target's name is cut
short where the whole would pass NAME_MAX) and becomes the target in one
rename. A process killed while writing (kill -9, power cut) leaves such a
file or folder behind; ``remove_stale_temporaries`` (run at the start of
every run that writes into a folder) deletes those of gdfast's naming whose
writer ran on this machine and no longer runs, and that are older than the
run. On a folder shared between machines (NFS, a cluster's scratch) a pid
says nothing about another host's processes, so another host's temporaries
(and those of older gdfast versions, which carry no host) are removed only
when older than STALE_AGE, far beyond any write: another process's
temporary in progress is never touched.
"""
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import time

TEMPORARY_TAG = ".gdfast-tmp-"
_TEMPORARY = re.compile(r"^\..+\.gdfast-tmp-(?:h([0-9a-f]{8})-)?(\d+)-[0-9a-f]{8}$")
STALE_AGE = 7 * 24 * 3600.0
NAME_MAX = 255


def host_tag():
    """8 hex digits naming this machine (of socket.gethostname())."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def temporary_name(path):
    """The temporary that write_atomically writes ``path`` through: in its
    folder, at most NAME_MAX bytes long however long ``path``'s name is."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    tail = f"{TEMPORARY_TAG}h{host_tag()}-{os.getpid()}-{secrets.token_hex(4)}"
    room = NAME_MAX - 1 - len(tail.encode())
    name = os.fsencode(name)[:room].decode(errors="ignore") if len(os.fsencode(name)) > room \
        else name
    return os.path.join(folder, f".{name}{tail}")


def write_atomically(path, write, overwrite):
    """Write ``path`` by calling ``write(fh)`` on a binary file handle, so that
    ``path`` never holds a part.

    The data go to a temporary file in the same folder (temporary_name),
    flushed to disk, which then becomes ``path`` in one step: by os.replace
    (overwrite=True), or by os.link, which fails with FileExistsError when
    ``path`` exists, so an existing file is never replaced, even by a
    concurrent writer (overwrite=False). On file systems without hard links
    the existence check and the rename are two steps. Errors name ``path``,
    never the temporary file. Nothing is held in memory: ``write`` streams.
    """
    path = os.fspath(path)
    tmp = temporary_name(path)
    try:
        # read and write: a multi-page TIFF writer reads back what it wrote
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)   # mode as open() gives
    except OSError as err:
        raise type(err)(err.errno, f"cannot write there ({err.strerror})", path) from None
    try:
        with os.fdopen(fd, "w+b") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        _rename(tmp, path, overwrite)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _rename(tmp, path, overwrite):
    try:
        if overwrite:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except OSError as err:
            if err.errno == errno.EEXIST or os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "file exists", path) from None
            os.replace(tmp, path)
    except FileExistsError:
        raise
    except OSError as err:
        raise type(err)(err.errno, err.strerror, path) from None


def check_can_write(path, what, overwrite):
    """Raise before any work if a file cannot be written to ``path``.

    what: how the error names the path (e.g. 'OUTPUT', 'checkpoint').
    FileNotFoundError: the folder does not exist; IsADirectoryError: path
    is a folder; FileExistsError: path exists (or is a symlink, dangling
    or not) and overwrite is False; PermissionError (or the OSError the
    system gives): a temporary file cannot be created in the folder (read
    only, no permission, full). Stale temporaries of gdfast's in the folder
    are removed first (remove_stale_temporaries).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"{what}: the folder {folder} does not exist", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"{what} is a folder, not a file", path)
    if os.path.islink(path) and not os.path.exists(path):
        raise FileExistsError(errno.EEXIST, f"{what} is a dangling symbolic link to "
                              f"{os.readlink(path)}; remove it or name another file", path)
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(errno.EEXIST, f"{what} exists", path)
    remove_stale_temporaries(folder)
    probe = temporary_name(path)
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as err:
        raise type(err)(err.errno, f"cannot write {what} in {folder} ({err.strerror})",
                        path) from None
    os.unlink(probe)


def remove_stale_temporaries(folder, older_than=None):
    """Delete gdfast's temporaries (files, and the folders of zarr OUTPUT) in
    ``folder`` whose writer is known to be gone: written on this machine by
    a process that no longer runs, last modified before ``older_than`` (a
    time.time(); default now); those of other machines, or without a host
    in their name, only when last modified STALE_AGE before that. Returns
    the names removed. Entries of other naming, of running processes, or
    newer, are never touched; what cannot be removed is left as it is."""
    older_than = time.time() if older_than is None else older_than
    here = host_tag()
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None:
            continue
        host, pid = match.group(1), int(match.group(2))
        if host == here:
            if process_alive(pid):
                continue
            before = older_than
        else:
            before = older_than - STALE_AGE
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= before:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.name)
        except OSError:
            pass
    return removed


def process_alive(pid):
    """False only when no process with that pid runs here (signal 0 checks,
    sends nothing; another user's process answers PermissionError: alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def same_file(a, b):
    """True if paths a and b name the same file: the same path once symbolic
    links are resolved (for files that do not exist yet too), or the same
    inode (hard links)."""
    a, b = os.fspath(a), os.fspath(b)
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:                          # one of them does not exist (yet)
        return False


def check_distinct(named_paths):
    """ValueError if two of the paths name the same file (same_file).
    named_paths: a sequence of (what, path), path None to leave out."""
    named = [(what, p) for what, p in named_paths if p is not None]
    for i, (what_a, a) in enumerate(named):
        for what_b, b in named[i + 1:]:
            if same_file(a, b):
                raise ValueError(f"{what_a} {os.fspath(a)} and {what_b} {os.fspath(b)} are the "
                                 f"same file; give {what_b} another path")
