"""Writing files so that a reader never sees half of one."""
import errno
import os
import secrets


def write_bytes_atomically(path, data, overwrite):
    """Write ``data`` (bytes) to ``path`` so that ``path`` never holds a part.

    The bytes go to a temporary file in the same folder, flushed to disk,
    which then becomes ``path`` in one step: by os.replace (overwrite=True),
    or by os.link, which fails with FileExistsError when ``path`` exists, so
    an existing file is never replaced, even by a concurrent writer
    (overwrite=False). On file systems without hard links the existence check
    and the rename are two steps.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # mode as open() gives
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except OSError as err:
            if err.errno == errno.EEXIST:
                raise FileExistsError(errno.EEXIST, "file exists", path) from None
            if os.path.exists(path):
                raise FileExistsError(errno.EEXIST, "file exists", path) from None
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
