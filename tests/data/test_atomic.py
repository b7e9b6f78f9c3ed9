import os
import signal
import subprocess
import sys
import textwrap

import pytest

from signllm_hf.data import atomic
from signllm_hf.data.atomic import atomic_directory, atomic_path, remove_stale_temporaries

posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pid checks are POSIX")


def _killed_writer(code: str, target) -> int:
    """Run ``code`` with ``atomic_path`` / ``atomic_directory`` / ``target`` in a fresh process that SIGKILLs itself
    in the middle of the write; return its pid. atomic.py is loaded from its file: only the standard library."""
    script = textwrap.dedent(
        f"""
        import importlib.util, os, signal, sys
        spec = importlib.util.spec_from_file_location("atomic", {atomic.__file__!r})
        atomic = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(atomic)
        atomic_path, atomic_directory, target = atomic.atomic_path, atomic.atomic_directory, {str(target)!r}
        def die():
            os.kill(os.getpid(), signal.SIGKILL)
        print(os.getpid(), flush=True)
        """
    )
    result = subprocess.run([sys.executable, "-c", script + textwrap.dedent(code)], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stderr
    return int(result.stdout)


def _finished_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@posix_only
def test_a_killed_file_write_is_cleaned_by_the_next_write(tmp_path):
    target = tmp_path / "train.skels"
    pid = _killed_writer(
        """
        with atomic_path(target) as tmp:
            tmp.write_text("half a clip")
            die()
        """,
        target,
    )
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert (
        len(leftovers) == 1 and leftovers[0].startswith(f".train.skels.{pid}-") and leftovers[0].endswith(".tmp.skels")
    )
    with atomic_path(target) as tmp:
        tmp.write_text("all clips")
    assert [p.name for p in tmp_path.iterdir()] == ["train.skels"] and target.read_text() == "all clips"


@posix_only
def test_a_folder_killed_between_its_two_renames_is_cleaned(tmp_path):
    target = tmp_path / "corpus"
    with atomic_directory(target) as tmp:
        (tmp / "old.parquet").write_text("the previous corpus")
    _killed_writer(
        """
        import os
        real_replace = os.replace
        def replace_then_die(source, destination):
            real_replace(source, destination)
            die()  # the old copy moved aside, the new one not yet in place
        os.replace = replace_then_die
        with atomic_directory(target, overwrite=True) as tmp:
            (tmp / "new.parquet").write_text("half")
        """,
        target,
    )
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".old", ".tmp"]  # and no corpus
    with atomic_directory(target) as tmp:
        (tmp / "new.parquet").write_text("the new corpus")
    assert [p.name for p in tmp_path.iterdir()] == ["corpus"]
    assert [p.name for p in target.iterdir()] == ["new.parquet"]


@posix_only
def test_only_stale_temporaries_of_our_own_names_are_removed(tmp_path):
    dead, live = _finished_pid(), os.getppid()
    stale = [
        f".train.skels.{dead}-k3j9x2qa.tmp.skels",  # its writer no longer runs
        ".train.skels.k3j9x2qa.tmp.skels",  # written before temporaries carried a pid
        f".train.skels.{os.getpid()}-abcdefgh.tmp.skels",  # our pid, but not ours now: a container's pid reused
    ]
    kept = [
        f".train.skels.{live}-k3j9x2qa.tmp.skels",  # a writer still at work
        f".dev.skels.{dead}-k3j9x2qa.tmp.skels",  # another target's
        ".train.skels.k3j9x2qa.tmp.txt",  # not a name we make for this target
        ".train.skels.notes",
        "train.skels.k3j9x2qa.tmp.skels",
    ]
    for name in stale + kept:
        (tmp_path / name).write_text("x")
    (tmp_path / f".train.skels.{dead}-qqqqqqqq.old").mkdir()  # a folder of ours: removed with what it holds
    (tmp_path / f".train.skels.{dead}-qqqqqqqq.old" / "previous").write_text("x")
    removed = remove_stale_temporaries(tmp_path / "train.skels")
    assert sorted(p.name for p in removed) == sorted(stale + [f".train.skels.{dead}-qqqqqqqq.old"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
    with atomic_path(tmp_path / "train.skels") as tmp:  # a write in flight is ours and not stale
        tmp.write_text("x")
        assert remove_stale_temporaries(tmp_path / "train.skels") == [] and tmp.is_file()
        assert tmp.name.startswith(f".train.skels.{os.getpid()}-")
