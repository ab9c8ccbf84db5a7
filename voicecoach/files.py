"""Files the program writes: one atomic-write mechanism and the rules every output path obeys.

Every output (rendered audio, timeline JSON, write-back into a routine, cache entries)
goes through `atomic_output`: written in full to a hidden temporary file beside its
target, flushed to disk, then renamed over the target, so a failure (disk full, Ctrl-C,
a crash) leaves the old file untouched and no partial new one. Several outputs of one
command commit together, after all of them were written.

Permissions: a user's own files follow the umask (or keep the mode of the file they
replace); private files (the speech cache, whose clips include the safety message) are
owner-only, so no other user can swap a clip.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from voicecoach.errors import VoicecoachError

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700

# What to say for the errors a person can act on; strerror's "No space left on device"
# reads like a device problem, and "System error" says nothing.
_ERRNO_TEXT = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "no such file or directory",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENAMETOOLONG: "file name too long",
    errno.ELOOP: "too many symbolic links (a loop?)",
    errno.EIO: "input/output error (a failing disk or a removed drive?)",
}


def os_error_text(error: BaseException) -> str:
    """A short, plain description of an I/O error: ``"disk full"``, ``"permission denied"``.

    Works for `OSError` and for exceptions of libraries (libsndfile, SQLite) whose message
    is the only clue.
    """
    if isinstance(error, OSError) and error.errno in _ERRNO_TEXT:
        return _ERRNO_TEXT[error.errno]
    if isinstance(error, OSError) and error.strerror:
        return error.strerror[:1].lower() + error.strerror[1:]
    text = str(error)
    lowered = text.lower()
    if "no space left" in lowered or "disk is full" in lowered:
        return "disk full"
    if "read-only" in lowered:
        return "read-only file system"
    return text or type(error).__name__


def _umask() -> int:
    # There is no call that reads the umask without setting it; this pair runs before
    # any file of ours is created, in the one thread that writes outputs.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# File types that are never replaced or read as a file, in a person's words.
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISREG, "a regular file"),
)


def kind_of(mode: int) -> str:
    """A person's name for the file type of ``mode`` (``"a named pipe (FIFO)"``)."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


class NotAFile(Exception):
    """`open_regular` met something other than a regular file; ``mode`` says what.

    ``swapped`` is set when the path was a regular file at the check and something else
    once opened (replaced in between).
    """

    def __init__(self, path: str | os.PathLike[str], mode: int, *, swapped: bool = False):
        super().__init__(f"{os.fspath(path)} is {kind_of(mode)}")
        self.mode = mode
        self.swapped = swapped


def open_regular(
    path: str | os.PathLike[str], *, follow_symlinks: bool = True
) -> tuple[BinaryIO, os.stat_result]:
    """Open ``path`` for reading only if it is a regular file, never blocking.

    The path is checked before opening (opening a FIFO blocks until someone writes, and
    opening a device may act on it), opened with ``O_NONBLOCK`` (so a path swapped for a
    FIFO after the check cannot block either) and checked again once open. With
    ``follow_symlinks=False`` a symlink counts as not a file.

    Returns
    -------
    The open binary file and its `os.fstat`.

    Raises
    ------
    NotAFile
        The path is a directory, FIFO, device, socket (or a symlink, when not followed).
    OSError
        As `os.stat` and `os.open` raise them (missing, permission denied...).
    """
    mode = os.stat(path, follow_symlinks=follow_symlinks).st_mode
    if not stat.S_ISREG(mode):
        raise NotAFile(path, mode)
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_NOCTTY", 0)
        | getattr(os, "O_CLOEXEC", 0)
        | getattr(os, "O_BINARY", 0)
    )
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotAFile(path, info.st_mode, swapped=True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb"), info


def _same_file(a: Path, b: Path) -> bool:
    with contextlib.suppress(OSError):
        if os.path.samefile(a, b):
            return True
    return os.path.normcase(os.path.abspath(_real(a))) == os.path.normcase(
        os.path.abspath(_real(b))
    )


def _real(path: Path) -> str:
    # resolve() follows symlinks of existing parts and keeps the rest as written.
    return str(Path(path).expanduser().resolve())


def check_output_paths(
    outputs: Sequence[tuple[str, Path]], inputs: Sequence[tuple[str, Path]] = ()
) -> None:
    """Refuse, before any work, an output that would destroy something or cannot be written.

    Each entry is ``(what, path)``, e.g. ``("--timeline", Path("t.json"))``; ``what`` names
    the option in the message. An output is refused when it is one of the ``inputs`` or
    another output (compared through symlinks and hard links), when it exists and is not
    a regular file (a directory, FIFO, device or socket is never replaced), when its
    folder is missing, or when its folder or the file itself cannot be written.

    Raises
    ------
    VoicecoachError
        Naming the path, the option and the reason.
    """
    for i, (what, path) in enumerate(outputs):
        shown = str(path)
        for in_what, in_path in inputs:
            if _same_file(path, in_path):
                raise VoicecoachError(
                    f"{shown}: error: {what} would overwrite {in_what} ({in_path}); "
                    "choose another output file"
                )
        for other_what, other in outputs[:i]:
            if _same_file(path, other):
                raise VoicecoachError(
                    f"{shown}: error: {what} and {other_what} name the same file; "
                    "give each output its own name"
                )
        _check_writable(what, path)


def _check_writable(what: str, path: Path) -> None:
    shown = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise VoicecoachError(
            f"{shown}: error: cannot write {what}: {os_error_text(error)}"
        ) from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise VoicecoachError(
            f"{shown}: error: {what} is {kind_of(info.st_mode)}; "
            "it is never replaced, choose a file name"
        )
    target = Path(_real(path))
    parent = target.parent
    if not parent.is_dir():
        raise VoicecoachError(
            f"{shown}: error: cannot write {what}: the folder {parent} does not exist"
        )
    if not os.access(parent, os.W_OK | os.X_OK) or not parent.stat().st_mode & 0o222:
        raise VoicecoachError(
            f"{shown}: error: cannot write {what}: the folder {parent} is not writable"
        )
    # The write bits count even for root (who may write anyway): a file the person made
    # read-only is one they do not want replaced.
    if info is not None and (not os.access(target, os.W_OK) or not info.st_mode & 0o222):
        raise VoicecoachError(
            f"{shown}: error: {what} is read-only; it is not replaced "
            "(make it writable, or choose another file name)"
        )


def ensure_private_dir(folder: Path) -> Path:
    """Create ``folder`` (and parents) owner-only; an existing one loses group/other access.

    Raises `OSError` as ``mkdir`` does.
    """
    folder = Path(folder)
    folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o077:
            # Only others lose access: an owner who made it read-only keeps it so.
            folder.chmod(mode & 0o700)
    return folder


@contextlib.contextmanager
def atomic_output(*paths: Path, private: bool = False) -> Iterator[list[Path]]:
    """Write one or more files all-or-nothing: yields temporary paths to write into.

    The caller writes each temporary file completely (by any means: ``soundfile``,
    ``np.save``, ``open``). When the block ends without an exception, every file is
    flushed to disk, given its permissions and renamed over its target; then the folders
    are synced. On an exception every temporary file is removed and the targets are left
    as they were. A symlinked target is written through: the link's target is replaced.

    Parameters
    ----------
    paths
        The files to write.
    private
        Owner-only (0600) files, for the cache; otherwise a replaced file keeps its mode
        and a new one gets ``0666 & ~umask``.

    Raises
    ------
    OSError
        From creating the temporary files or committing them (e.g. ``ENOSPC``); callers
        turn it into a message with `os_error_text`.
    """
    targets = [Path(_real(p)) for p in paths]
    temps: list[Path] = []
    try:
        for target in targets:
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".part"
            )
            os.close(fd)
            temps.append(Path(name))
        yield list(temps)
        for tmp, target in zip(temps, targets, strict=True):
            _flush(tmp)
            os.chmod(tmp, _mode_for(target, private))
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
    except BaseException:
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    for folder in dict.fromkeys(t.parent for t in targets):
        _sync_dir(folder)


def atomic_write(path: Path, data: bytes | str, *, private: bool = False) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8, newlines as given).

    See `atomic_output` for the guarantees; raises `OSError` on failure.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_output(path, private=private) as (tmp,), open(tmp, "wb") as f:
        f.write(raw)


def _mode_for(target: Path, private: bool) -> int:
    if private:
        return PRIVATE_FILE_MODE
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _flush(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)  # Windows flushes only a handle opened for writing
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(folder: Path) -> None:
    # The rename itself is durable only once the folder is synced (not possible on Windows).
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
