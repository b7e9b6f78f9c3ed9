"""`signllm quickstart` end to end with a budget of seconds: every promised file, a scored evaluation."""

import json

import numpy as np
import pytest

from signllm_hf.cli import main
from signllm_hf.data import read_pose_file

pytest.importorskip("spoken_to_signed", reason="the quickstart builds the fingerspelling corpus (extra: lexicon)")


def test_quickstart_writes_the_gif_the_pose_and_the_scores(tmp_path, capsys):
    workdir = tmp_path / "qs"
    arguments = [
        "quickstart",
        "--workdir",
        str(workdir),
        "--word",
        "hallo",
        "--language",
        "DGS",
        "--languages",
        "gsg",
        "--minutes",
        "0.15",
        "--eval-clips",
        "6",
        "--quiet",
    ]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    assert "[5/5]" in printed and "| dtw |" in printed and "| bleu4 |" in printed
    gif = (workdir / "hallo.gif").read_bytes()
    assert gif[:6] in (b"GIF87a", b"GIF89a")
    pose = read_pose_file(workdir / "hallo.pose").pose
    assert pose.ndim == 3 and pose.shape[1:] == (50, 3) and len(pose) >= 1 and np.isfinite(pose).all()
    evaluation = json.loads((workdir / "evaluation.json").read_text())
    assert evaluation["clips"] == 6 and evaluation["dtw"] > 0
    for name in ("bleu1", "bleu4", "chrf"):  # the printed table is the saved evaluation
        generated = evaluation["back_translation"][name]
        reference = evaluation["back_translation_of_references"][name]
        assert 0 <= generated <= 100 and f"| {name} | {generated:.2f} | {reference:.2f} |" in printed
    metrics = json.loads((workdir / "signer" / "metrics.json").read_text())
    assert metrics["model"].endswith("-M") and metrics["train_runtime"] < 60  # the budget stopped it

    # A second run reuses what is there; a different language set in the same folder is refused.
    assert main(arguments) == 0
    assert main(["quickstart", "--workdir", str(workdir), "--language", "ase", "--languages", "ase", "--quiet"]) == 2
    assert "holds a quickstart for ['gsg']" in capsys.readouterr().err
    assert main(["quickstart", "--workdir", str(workdir), "--language", "ase", "--languages", "gsg"]) == 2
    assert "'ase' is not one of the trained languages ['gsg']" in capsys.readouterr().err
