"""`signllm quickstart` end to end with a budget of seconds: every promised file, a scored evaluation."""

import json

import numpy as np
import pytest

from signllm_hf.cli import main
from signllm_hf.data import read_pose_file
from signllm_hf.data.corpora import load_corpus
from tests.training.helpers import dtw_of_saved_model

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
        "--random-strings",
        "3",
        "--quiet",
    ]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    assert "[5/5]" in printed and "| dtw |" in printed and "words: CER" in printed
    gif = (workdir / "hallo.gif").read_bytes()
    assert gif[:6] in (b"GIF87a", b"GIF89a")
    pose = read_pose_file(workdir / "hallo.pose").pose
    assert pose.ndim == 3 and pose.shape[1:] == (50, 3) and len(pose) >= 1 and np.isfinite(pose).all()
    evaluation = json.loads((workdir / "evaluation.json").read_text())
    assert evaluation["clips"] == 6 and evaluation["split"] == "test"
    # The DTW is that of the saved signer's own generations for its seeded sample of 6 test words, recomputed.
    test = load_corpus(str(workdir / "corpus"), "test")
    sample = [test[int(i)] for i in sorted(np.random.default_rng(0).choice(len(test), size=6, replace=False))]
    assert evaluation["dtw"] == pytest.approx(dtw_of_saved_model(workdir / "signer", sample, None), rel=1e-3)
    words, strings = evaluation["legibility"], evaluation["random_strings"]
    assert words["clips"] == 6 and strings["clips"] == 3  # --random-strings 3, one language
    # The printed table is the saved evaluation; an untrained reader reads nearly nothing right.
    assert (
        f"| all | {words['cer']:.3f} | {words['wer']:.3f} | {strings['cer']:.3f} | {strings['wer']:.3f} |" in printed
    )
    assert words["wer"] > 0.5 and words["calibration"]["still_pose"] > 0.5
    metrics = json.loads((workdir / "signer" / "metrics.json").read_text())
    assert metrics["model"].endswith("-M") and metrics["train_runtime"] < 60  # the budget stopped it

    # A second run reuses what is there; a different language set in the same folder is refused.
    assert main(arguments) == 0
    assert main(["quickstart", "--workdir", str(workdir), "--language", "ase", "--languages", "ase", "--quiet"]) == 2
    assert "holds a quickstart for ['gsg']" in capsys.readouterr().err
    assert main(["quickstart", "--workdir", str(workdir), "--language", "ase", "--languages", "gsg"]) == 2
    assert "'ase' is not one of the trained languages ['gsg']" in capsys.readouterr().err
