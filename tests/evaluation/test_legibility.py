"""Legibility scores: error rates, the reader's calibration, motion ratios, and the letter reader itself."""

import numpy as np
import pytest
import torch

from signllm_hf.evaluation.judges import SignLLMLetterReader, SignLLMLetterReaderConfig
from signllm_hf.evaluation.legibility import calibrate, letter_error_rates, motion_ratios, unit_error_rates


class LookupReader:
    """Reads a clip's units back exactly when its pose is one of the known clips, nothing otherwise."""

    def __init__(self, rows):
        self.known = [(np.asarray(row["pose"]), tuple(row["gloss"].split())) for row in rows]

    def read(self, poses, languages):
        found = []
        for pose in poses:
            match = [units for known, units in self.known if known.shape == pose.shape and np.array_equal(known, pose)]
            found.append(match[0] if match else ())
        return found


def rows_of(glosses, language="ase", seed=0):
    rng = np.random.default_rng(seed)
    return [
        {
            "id": str(i),
            "language": language,
            "gloss": gloss,
            "pose": rng.normal(size=(10 + i, 50, 3)).astype("float32"),
        }
        for i, gloss in enumerate(glosses)
    ]


def test_unit_error_rates_count_each_kind():
    scores = unit_error_rates([("S", "CH", "A"), ("B",)], [("S", "A", "A", "X"), ("B",)])
    assert scores["substitutions"] == pytest.approx(1 / 4) and scores["insertions"] == pytest.approx(1 / 4)
    assert scores["deletions"] == 0 and scores["cer"] == pytest.approx(2 / 4) and scores["wer"] == 0.5


def test_calibration_with_a_reader_that_reads_only_real_clips():
    rows = rows_of(["H I", "O K", "Y E S", "N O"]) + rows_of(["A B", "C D"], language="gsg", seed=1)
    calibration = calibrate(LookupReader(rows), rows)
    assert calibration["references"] == 0.0 and calibration["still_pose"] == 1.0
    # Each clip is read as the next one of its language: H I as O K (2 edits), O K as Y E S (3), Y E S as N O (3),
    # N O as H I (2), A B as C D (2), C D as A B (2): 14 edits over 13 units.
    assert calibration["another_word"] == pytest.approx(14 / 13)
    per_language = letter_error_rates(LookupReader(rows), [r["pose"] for r in rows], rows)["per_language"]
    assert set(per_language) == {"ase", "gsg"} and per_language["gsg"]["cer"] == 0.0


def test_calibration_says_what_it_cannot_measure():
    rows = rows_of(["H I", "H I"])  # no other word to read
    calibration = calibrate(LookupReader(rows), rows)
    assert calibration["references"] == 0.0 and np.isnan(calibration["another_word"])
    assert calibration["clips"] == 2 and np.isnan(calibrate(LookupReader(rows), [])["references"])


def test_motion_ratios_see_averaged_motion():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(60, 50, 3))
    still = np.repeat(reference.mean(axis=0, keepdims=True), 60, axis=0)
    assert motion_ratios([reference], [reference], ["right"]) == {"speed_ratio": 1.0, "hand_shape_variance_ratio": 1.0}
    ratios = motion_ratios([still], [reference], ["left"])
    assert ratios["speed_ratio"] == 0.0 and ratios["hand_shape_variance_ratio"] == pytest.approx(0.0, abs=1e-12)


def test_reader_decodes_ctc_paths_in_its_language():
    config = SignLLMLetterReaderConfig(
        language_units={"ase": ["A", "B"], "gsg": ["A", "SCH"]}, d_model=8, downsample=0
    )
    reader = SignLLMLetterReader(config)
    path = [1, 1, 0, 2, 2, 0, 0, 1]  # A A - B B - - A -> A B A (ids: 0 blank, 1 A, 2 B, 3 SCH)

    def forward(poses, mask, language_ids, labels=None):
        logits = torch.full((len(poses), poses.shape[1], 4), -5.0)
        logits[0, torch.arange(len(path)), torch.tensor(path)] = 5.0
        return type("Out", (), {"logits": logits.masked_fill(~reader.allowed[language_ids][:, None], -1e4)})

    reader.forward = forward
    assert reader.read([np.zeros((8, 50, 3))], ["ASL"]) == [("A", "B", "A")]
    assert reader.read([np.zeros((8, 50, 3))], ["DGS"]) == [("A", "A")]  # B is not a DGS unit: never written
    with pytest.raises(ValueError, match="no letters for 'KSL'"):
        reader.read([np.zeros((8, 50, 3))], ["KSL"])


def test_a_saved_reader_reads_as_before(tmp_path):
    units = {"ase": ["A", "B", "C"], "gss": ["Α", "Β"]}
    torch.manual_seed(0)
    reader = SignLLMLetterReader(SignLLMLetterReaderConfig(language_units=units, d_model=16))
    reader.save_pretrained(tmp_path)
    loaded = SignLLMLetterReader.from_pretrained(tmp_path)
    assert torch.equal(loaded.allowed, reader.allowed) and loaded.allowed.sum().item() == (1 + 3) + (
        1 + 2
    )  # the blank and each language's units
    poses = [np.random.default_rng(1).normal(size=(40, 50, 3)).astype("float32")] * 2
    assert loaded.read(poses, ["ase", "gss"]) == reader.read(poses, ["ase", "gss"])
    from transformers import AutoModel  # noqa: PLC0415

    assert type(AutoModel.from_pretrained(tmp_path)) is SignLLMLetterReader  # registered by `import signllm_hf`
