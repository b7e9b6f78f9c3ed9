"""Atomic file and directory writes: write under a temporary name next to the target, then rename.

An interrupted or failed write leaves the previous content (or nothing) behind, never a half-written file. A writer
killed outright (SIGKILL, power loss) cannot remove its temporary; the next write of the same target does, see
:func:`remove_stale_temporaries`.

Example:
    >>> import tempfile, pathlib
    >>> from signllm_hf.data.atomic import atomic_path
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Temporaries are named ".{target name}.{pid}-{8 random characters}" + ".tmp{target suffix}" (a file), ".tmp" (a
# folder) or ".old" (a replaced folder on its way out): the pid tells a killed writer's leftover from one in flight.
_ACTIVE: set[str] = set()  # absolute paths of the temporaries this process is writing now


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}-"


def _running(pid: int) -> bool:
    if pid == os.getpid():  # ours but not in _ACTIVE: an earlier process had our pid (e.g. pid 1 in a container)
        return False
    if os.name != "posix":
        return True  # no harmless liveness check here (os.kill would terminate it): keep the temporary
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, and belongs to another user
    except (OverflowError, ValueError):
        return False  # no such pid can exist
    return True


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Remove the temporaries that killed writers of ``target`` left next to it; return what was removed.

    Only our own names count (see the module), and only stale ones: the process named in them no longer runs.
    Names without a pid come from versions before pids were recorded and are always stale. A pid reused by an
    unrelated process keeps its leftover until that process ends (removal is lazy, never wrong).

    Example:
        >>> import tempfile, pathlib
        >>> from signllm_hf.data.atomic import remove_stale_temporaries
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / ".train.skels.k3j9x2qa.tmp.skels").write_text("half a clip")  # a killed writer's file
        >>> [path.name for path in remove_stale_temporaries(folder / "train.skels")]
        ['.train.skels.k3j9x2qa.tmp.skels']
    """
    target = Path(target)
    prefix = f".{target.name}."
    name = re.compile(rf"(?:(\d+)-)?[a-z0-9_]{{8}}\.(?:tmp(?:{re.escape(target.suffix)})?|old)")
    removed = []
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.iterdir():
        match = name.fullmatch(entry.name[len(prefix) :]) if entry.name.startswith(prefix) else None
        if match is None or os.path.abspath(entry) in _ACTIVE or (match[1] is not None and _running(int(match[1]))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return sorted(removed)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; on success it replaces ``target``, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    # Keep the target's extension last: writers such as imageio pick the format from it.
    handle, name = tempfile.mkstemp(prefix=_temporary_prefix(target), suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(handle)
    tmp = Path(name)
    _ACTIVE.add(os.path.abspath(tmp))
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        _ACTIVE.discard(os.path.abspath(tmp))


@contextlib.contextmanager
def atomic_paths(targets: list[str | os.PathLike]) -> Iterator[list[Path]]:
    """Like :func:`atomic_path` for several files that belong together: all are renamed only if all were written."""
    with contextlib.ExitStack() as stack:
        # Entering every context first means a failure in any write removes every temporary file.
        yield [stack.enter_context(atomic_path(t)) for t in targets]


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``target`` on success (replacing it only if ``overwrite``)."""
    target = Path(target)
    if target.exists() and not overwrite and any(target.iterdir()):
        raise FileExistsError(
            f"{target} already exists and is not empty; pass overwrite=True (--overwrite) to replace it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=_temporary_prefix(target), suffix=".tmp", dir=target.parent))
    _ACTIVE.add(os.path.abspath(tmp))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
        if target.exists():
            # Move the old copy aside first, so the target path is never missing a complete version for long.
            old = Path(tempfile.mkdtemp(prefix=_temporary_prefix(target), suffix=".old", dir=target.parent))
            _ACTIVE.add(os.path.abspath(old))
            try:
                os.replace(target, old / "previous")
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            finally:
                _ACTIVE.discard(os.path.abspath(old))
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _ACTIVE.discard(os.path.abspath(tmp))
