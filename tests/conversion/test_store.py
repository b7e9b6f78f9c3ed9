import subprocess
import sys

import numpy as np
import pytest

from signllm_hf.conversion.store import ClipStore


def test_a_failed_first_part_leaves_no_empty_parts_folder(tmp_path):
    store = ClipStore(tmp_path / "poses3d.h5", fields=("pose",))
    with pytest.raises(KeyError, match="pose"):
        store.write_part({"a": ({"other": np.zeros((2, 50, 3))}, {"split": "train"})})
    assert list(tmp_path.iterdir()) == []


def test_merge_removes_what_a_killed_part_write_left(tmp_path):
    store = ClipStore(tmp_path / "poses3d.h5", fields=("pose",))
    store.write_part({"a": ({"pose": np.zeros((2, 50, 3))}, {"split": "train"})})
    store.merge()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.parts_dir.mkdir()  # a rerun found nothing left to store, but a SIGKILLed part write left its temporary
    (store.parts_dir / f".part-000000.h5.{int(dead.stdout)}-k3j9x2qa.tmp.h5").write_bytes(b"\x89HDF")
    (tmp_path / f".poses3d.h5.{int(dead.stdout)}-k3j9x2qa.tmp.h5").write_bytes(b"\x89HDF")  # and a merge its own
    store.merge()
    assert [p.name for p in tmp_path.iterdir()] == ["poses3d.h5"] and store.done_ids() == {"a"}
