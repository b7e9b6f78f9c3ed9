import json
import shutil

import h5py
import numpy as np
import pytest

from signllm_hf.cli import main
from signllm_hf.conversion import pipeline
from signllm_hf.conversion.pipeline import (
    ConversionOptions,
    convert_openpose,
    load_converted,
    plan_batches,
    read_sentence_table,
)
from signllm_hf.data import read_prompt2sign
from signllm_hf.data.skeleton import bone_lengths
from tests.conftest import known_motion, projected, write_openpose_clip

HOW2SIGN_FRAMES = {
    "_2FBDaOPYig_2-3-rgb_front": 157,
    "_2FBDaOPYig_2-5-rgb_front": 210,
    "_2FBDaOPYig_3-3-rgb_front": 109,
}


@pytest.fixture(scope="module")
def how2sign_converted(how2sign_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("convert") / "out"
    options = ConversionOptions(language="ASL", split="dev", text_path=str(how2sign_dir / "clips.tsv"), progress=False)
    reports = convert_openpose(how2sign_dir / "json", out, options)
    return out, reports


def test_how2sign_converts_cleanly(how2sign_converted, how2sign_dir):
    out, reports = how2sign_converted
    assert [r.converted for r in reports] == [3, 3, 3] and not any(r.skipped for r in reports)
    dataset = load_converted(out, split="dev")
    assert dict(zip(dataset["id"], (len(p) for p in dataset["pose"]))) == HOW2SIGN_FRAMES
    table = read_sentence_table(how2sign_dir / "clips.tsv")
    for row in dataset:
        pose = row["pose"]
        assert np.isfinite(pose).all() and not (pose == 0).all(axis=-1).any()  # no NaN, no zeroed joint
        assert row["text"] == table[row["id"]] and row["language"] == "ase" and row["text"] in row["prompt"]
        lengths = bone_lengths(pose)
        assert (lengths.std(0) / lengths.mean(0)).max() < 0.01
        assert 0.9 < np.median(np.linalg.norm(pose[:, 2] - pose[:, 5], axis=-1)) < 1.1  # shoulder units
        assert np.median(pose[:, 29:50, 2]) < np.median(pose[:, [2, 5], 2])  # hands in front of the body
    text_files = read_prompt2sign(out, "dev", language="ase")  # the .skels files read back as the same data
    for a, b in zip(text_files["pose"], dataset["pose"]):
        np.testing.assert_allclose(a, b, atol=1e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lift"]["converted"] == 3 and summary["lift"]["skipped"] == {}


def test_rerun_skips_everything_done(how2sign_converted, how2sign_dir):
    out, _ = how2sign_converted
    options = ConversionOptions(language="ase", split="dev", text_path=str(how2sign_dir / "clips.tsv"), progress=False)
    reports = convert_openpose(how2sign_dir / "json", out, options)
    assert [r.converted for r in reports[:2]] == [0, 0] and [r.already_done for r in reports[:2]] == [3, 3]


def test_sentence_tables(tmp_path):
    (tmp_path / "plain.tsv").write_text('a\t"Hello, world"\nb\tsecond  one\n', encoding="utf-8")
    assert read_sentence_table(tmp_path / "plain.tsv") == {"a": "Hello, world", "b": "second one"}
    header = "VIDEO_ID,SENTENCE_NAME,START,SENTENCE\nv1,a,0,First sentence.\n"
    (tmp_path / "how2sign.csv").write_text(header, encoding="utf-8")
    assert read_sentence_table(tmp_path / "how2sign.csv") == {"a": "First sentence."}
    (tmp_path / "bad.tsv").write_text("a\tone\na\tanother\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.tsv line 2: clip 'a' has two different sentences"):
        read_sentence_table(tmp_path / "bad.tsv")
    (tmp_path / "short.tsv").write_text("only-an-id\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"short.tsv line 1: expected an id and a sentence"):
        read_sentence_table(tmp_path / "short.tsv")


def test_batches_are_a_function_of_the_clip_set():
    lengths = {"a": 10, "b": 50, "c": 12, "d": 50, "e": 11}
    assert plan_batches(lengths, batch_frames=40, max_batch_clips=8) == [["a", "e", "c"], ["b"], ["d"]]
    assert plan_batches(lengths, batch_frames=1000, max_batch_clips=2) == [["a", "e"], ["c", "b"], ["d"]]


def _bad_input_folder(root):
    motions = known_motion(3)
    for name, motion in zip(("good1", "good2", "no_text"), motions):
        write_openpose_clip(root / name, projected(motion[:20]))
    write_openpose_clip(root / "broken_json", projected(motions[0][:5]))
    sorted((root / "broken_json").glob("*.json"))[2].write_text("{oops")
    write_openpose_clip(root / "nobody", projected(motions[0][:5]))
    for path in (root / "nobody").glob("*.json"):
        path.write_text(json.dumps({"people": []}))
    write_openpose_clip(root / "one_frame", projected(motions[0][:1]))
    (root / "empty").mkdir()
    table = "\n".join(f"{n}\tsentence of {n}" for n in ("good1", "good2", "broken_json", "nobody", "one_frame",
                                                        "empty", "ghost"))  # fmt: skip
    (root / "clips.tsv").write_text(table + "\n", encoding="utf-8")
    return root


def test_bad_input_is_skipped_with_reasons_and_the_rest_converts(tmp_path, capsys):
    root = _bad_input_folder(tmp_path / "in")
    out = tmp_path / "out"
    code = main(["convert", "openpose", str(root), str(out), "--text", str(root / "clips.tsv"), "--quiet",
                 "--language", "DGS"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 1  # something was skipped
    summary = json.loads((out / "summary.json").read_text())
    skipped = summary["extract"]["skipped"]
    assert set(skipped) == {"broken_json", "nobody", "one_frame", "empty", "no_text"}
    assert "malformed JSON" in skipped["broken_json"] and "5 of 5 frames have no person" in skipped["nobody"]
    assert "at least 2 frames" in skipped["one_frame"] and "empty clip folder" in skipped["empty"]
    assert "no sentence for this clip in clips.tsv" in skipped["no_text"]
    assert any("ghost" in w for w in summary["extract"]["warnings"])
    assert "skipped broken_json: " in printed
    dataset = load_converted(out, split="train")
    assert sorted(dataset["id"]) == ["good1", "good2"] and set(dataset["language"]) == {"gsg"}
    with h5py.File(out / "keypoints2d.h5", "r") as handle:  # nothing of a skipped clip was stored
        assert sorted(handle["keypoints"]) == ["good1", "good2"]
    assert not [p for p in out.rglob("*") if ".tmp" in p.name or ".parts" in p.name]


def test_interrupted_lift_resumes_to_the_same_output(tmp_path, monkeypatch):
    root = tmp_path / "in"
    for index, motion in enumerate(known_motion(3)):
        write_openpose_clip(root / f"clip{index}", projected(motion[: 12 + 4 * index]))
    options = ConversionOptions(max_batch_clips=1, progress=False)  # three batches

    convert_openpose(root, tmp_path / "straight", options)

    calls = {"count": 0}
    real_solver = pipeline.solve_adam

    def interrupted_after_one_batch(*args, **kwargs):
        calls["count"] += 1
        if calls["count"] == 2:
            raise KeyboardInterrupt
        return real_solver(*args, **kwargs)

    monkeypatch.setattr(pipeline, "solve_adam", interrupted_after_one_batch)
    with pytest.raises(KeyboardInterrupt):
        convert_openpose(root, tmp_path / "resumed", options)
    assert not (tmp_path / "resumed" / "poses3d.h5").exists()  # only complete parts were written
    assert len(list((tmp_path / "resumed" / ".poses3d.h5.parts").glob("part-*.h5"))) == 1
    monkeypatch.setattr(pipeline, "solve_adam", real_solver)
    reports = convert_openpose(root, tmp_path / "resumed", options)
    assert reports[1].already_done == 1 and reports[1].converted == 2

    straight, resumed = load_converted(tmp_path / "straight"), load_converted(tmp_path / "resumed")
    assert straight["train"]["id"] == resumed["train"]["id"]
    for a, b in zip(straight["train"]["pose"], resumed["train"]["pose"]):
        np.testing.assert_array_equal(a, b)


def test_stages_one_at_a_time_and_errors(tmp_path, how2sign_dir):
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError, match=r"keypoints2d\.h5: missing; run the extract stage first"):
        pipeline.lift_keypoints(out, ConversionOptions(progress=False))
    clip = how2sign_dir / "json" / "_2FBDaOPYig_3-3-rgb_front"
    single = tmp_path / "single"
    single.mkdir()
    shutil.copytree(clip, single / clip.name)
    assert main(["convert", "extract", str(single), str(out), "--quiet", "--split", "test"]) == 0
    assert main(["convert", "lift", str(out), "--quiet"]) == 0
    assert main(["convert", "export", str(out), "--quiet", "--skels-variant", "prompt2sign"]) == 0
    assert (out / "test.skels").is_file() and len(load_converted(out, split="test")) == 1
    with pytest.raises(ValueError, match="unknown sign language"):
        ConversionOptions(language="xx")
