import json
import os
import shutil
import subprocess
import sys

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
    table = "\n".join(
        f"{n}\tsentence of {n}" for n in ("good1", "good2", "broken_json", "nobody", "one_frame", "empty", "ghost")
    )
    (root / "clips.tsv").write_text(table + "\n", encoding="utf-8")
    return root


def test_bad_input_is_skipped_with_reasons_and_the_rest_converts(tmp_path, capsys):
    root = _bad_input_folder(tmp_path / "in")
    out = tmp_path / "out"
    code = main(
        ["convert", "openpose", str(root), str(out), "--text", str(root / "clips.tsv"), "--quiet", "--language", "DGS"]
    )
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


def test_how2sign_style_tables(tmp_path):
    header = "VIDEO_ID\tVIDEO_NAME\tSENTENCE_ID\tSENTENCE_NAME\tSTART_REALIGNED\tEND_REALIGNED\tSENTENCE\n"
    rows = "v1\tvid-1\ts1\tvid_0-1\t0.1\t2.0\tFirst one.\nv1\tvid-1\ts2\tvid_1-1\t2.0\t4.0\tSecond one.\n"
    (tmp_path / "how2sign_realigned_val.csv").write_text(header + rows, encoding="utf-8")  # tabs in a .csv
    assert read_sentence_table(tmp_path / "how2sign_realigned_val.csv") == {
        "vid_0-1": "First one.",
        "vid_1-1": "Second one.",
    }
    (tmp_path / "both.tsv").write_text("id\tgloss\ttext\na\tHELLO\thello there\n", encoding="utf-8")
    assert read_sentence_table(tmp_path / "both.tsv") == {"a": "hello there"}
    assert read_sentence_table(tmp_path / "both.tsv", kind="gloss") == {"a": "HELLO"}


def test_two_splits_share_one_output_folder(tmp_path):
    motions = known_motion(4)
    for split, names in (("train", ("a1", "a2")), ("dev", ("b1", "b2"))):
        root = tmp_path / split
        for name, motion in zip(names, motions):
            write_openpose_clip(root / name, projected(motion[:16]))
        (root / "clips.tsv").write_text("".join(f"{n}\t{split} sentence {n}\n" for n in names), encoding="utf-8")
        options = ConversionOptions(split=split, text_path=str(root / "clips.tsv"), progress=False)
        reports = convert_openpose(root, tmp_path / "out", options)
        assert not any(r.skipped for r in reports)
    dataset = load_converted(tmp_path / "out")
    assert {name: sorted(split["id"]) for name, split in dataset.items()} == {
        "train": ["a1", "a2"],
        "dev": ["b1", "b2"],
    }
    assert dataset["train"][0]["text"] == "train sentence a1"
    assert (tmp_path / "out" / "train.skels").is_file() and (tmp_path / "out" / "dev.skels").is_file()
    # The same input again with other options: kept as it was, with a warning that says so.
    options = ConversionOptions(split="test", language="gsg", progress=False)
    reports = convert_openpose(tmp_path / "dev", tmp_path / "out", options)
    assert reports[0].already_done == 2 and any("split='dev', not 'test'" in w for w in reports[0].warnings)


def test_a_clip_failing_in_the_lift_stage_is_skipped(tmp_path, monkeypatch):
    root = tmp_path / "in"
    for name, motion in zip(("fine", "odd"), known_motion(2)):
        write_openpose_clip(root / name, projected(motion[:12]))
    real = pipeline.prepare_keypoints
    calls = {"n": 0}

    def failing_once(keypoints):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("no confident keypoint in any frame")
        return real(keypoints)

    monkeypatch.setattr(pipeline, "prepare_keypoints", failing_once)
    reports = convert_openpose(root, tmp_path / "out", ConversionOptions(progress=False))
    assert reports[1].converted == 1 and list(reports[1].skipped.values()) == ["no confident keypoint in any frame"]
    assert len(load_converted(tmp_path / "out", split="train")) == 1
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["lift"]["skipped"]


def test_nothing_extractable_still_writes_a_summary(tmp_path):
    root = tmp_path / "in"
    (root / "empty").mkdir(parents=True)
    code = main(["convert", "openpose", str(root), str(tmp_path / "out"), "--quiet"])
    assert code == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "empty clip folder" in summary["extract"]["skipped"]["empty"]
    assert "finished_at" in summary["extract"] and "lift" not in summary


def test_prompt2sign_variant_export_has_no_markers(tmp_path):
    root = tmp_path / "in"
    motion = known_motion(1)[0][:14]
    keypoints = projected(motion)
    keypoints[:, 8:29, 2] = 0  # the left hand never detected: lifted anyway, values are real
    write_openpose_clip(root / "clip", keypoints)
    convert_openpose(root, tmp_path / "out", ConversionOptions(skels_variant="prompt2sign", progress=False))
    assert "0.01600 0.01600 0.01600" not in (tmp_path / "out" / "train.skels").read_text()
    from_files = read_prompt2sign(tmp_path / "out", "train", language="ase")[0]["pose"]
    np.testing.assert_allclose(from_files, load_converted(tmp_path / "out", split="train")[0]["pose"], atol=1e-4)


def test_a_foreign_dataset_folder_is_not_overwritten(tmp_path):
    from signllm_hf.data import pose_dataset_from_rows, save_pose_dataset
    from tests.conftest import pose_rows

    root = tmp_path / "in"
    write_openpose_clip(root / "clip", projected(known_motion(1)[0][:10]))
    save_pose_dataset(
        {"train": pose_dataset_from_rows(pose_rows([3]))},
        tmp_path / "out" / "dataset",
        extra_stats={"builder": "fingerspelling"},
    )
    with pytest.raises(FileExistsError, match="holds a dataset this tool did not write"):
        convert_openpose(root, tmp_path / "out", ConversionOptions(progress=False))


def test_a_non_utf8_name_deep_json_or_a_line_break_skip_only_their_clip(tmp_path, capsys):
    root, out = tmp_path / "in", tmp_path / "out"
    motions = known_motion(4)
    write_openpose_clip(root / "good", projected(motions[0][:12]))
    try:  # bytes that are not UTF-8, as a latin-1 system writes "clipÿ"; Python reads them as surrogate escapes
        write_openpose_clip(root / os.fsdecode(b"clip\xff"), projected(motions[1][:12]))
    except (OSError, UnicodeError):
        pytest.skip("this file system only takes UTF-8 names")
    deep = write_openpose_clip(root / "deep", projected(motions[2][:12]))
    sorted(deep.glob("*.json"))[3].write_text("[" * 100_000 + "]" * 100_000)
    write_openpose_clip(root / "two\nlines", projected(motions[3][:12]))
    assert main(["convert", "openpose", str(root), str(out), "--quiet"]) == 1  # 1: clips were skipped
    printed = capsys.readouterr().out
    skipped = json.loads((out / "summary.json").read_text(encoding="utf-8"))["extract"]["skipped"]
    assert skipped == {
        "clip\\xff": "clip\\xff: the name is not valid UTF-8; rename it (e.g. convmv -f latin1 -t utf8)",
        "deep": "deep_000000000003_keypoints.json: JSON nested too deeply to read; is this OpenPose output?",
        "two\nlines": "two\nlines: the name holds a line break, which a .files line cannot; rename it",
    }
    assert "skipped clip\\xff: clip\\xff: the name is not valid UTF-8" in printed
    assert load_converted(out, split="train")["id"] == ["good"]
    assert (out / "train.files").read_text() == "good\n"
    assert not [p.name for p in out.rglob(".*")]  # no temporaries, no empty .parts folder


def test_a_table_that_is_not_utf8_is_named_with_what_to_do(tmp_path, capsys):
    table = tmp_path / "clips.tsv"
    table.write_bytes("a\tfirst\nb\tcaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"clips\.tsv: not UTF-8 text \(line 2 has the byte 0xe9, e\.g\. a latin-1"):
        read_sentence_table(table)
    root = tmp_path / "in"
    write_openpose_clip(root / "a", projected(known_motion(1)[0][:6]))
    assert main(["convert", "openpose", str(root), str(tmp_path / "out"), "--text", str(table), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"signllm: error: {table}: not UTF-8 text") and "save the text table as UTF-8" in error
    table.write_bytes(b"a\tfirst\nb\t" + b"x" * 200_000 + b"\n")  # e.g. a binary file given by mistake
    with pytest.raises(ValueError, match=r"clips\.tsv line 2: cannot read it as a table \(field larger than field"):
        read_sentence_table(table)


def test_leftovers_of_killed_writers_are_cleaned_by_a_rerun(tmp_path):
    root = tmp_path / "in"
    for name, motion in zip(("a", "b"), known_motion(2)):
        write_openpose_clip(root / name, projected(motion[:12]))
    out = tmp_path / "out"
    options = ConversionOptions(progress=False)
    convert_openpose(root, out, options)
    expected = {name: (out / f"train.{name}").read_bytes() for name in ("skels", "text", "gloss", "files")}
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(dead.stdout)  # a pid that no longer runs, as a SIGKILLed writer's
    for name in (f".train.skels.{dead}-k3j9x2qa.tmp.skels", ".train.text.k3j9x2qa.tmp.text", ".summary.json.x.tmp"):
        (out / name).write_text("half written")
    (out / f".dataset.{dead}-k3j9x2qa.tmp" / "data").mkdir(parents=True)
    (out / f".dataset.{dead}-k3j9x2qa.tmp" / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1")
    (out / f".poses3d.h5.{dead}-k3j9x2qa.tmp.h5").write_bytes(b"\x89HDF")
    (out / ".keypoints2d.h5.parts").mkdir()
    (out / ".keypoints2d.h5.parts" / f".part-000000.h5.{dead}-k3j9x2qa.tmp.h5").write_bytes(b"\x89HDF")
    reports = convert_openpose(root, out, options)
    assert [r.already_done for r in reports[:2]] == [2, 2] and reports[2].converted == 2
    assert sorted(p.name for p in out.rglob(".*")) == [".summary.json.x.tmp"]  # not a name we make: kept
    assert {name: (out / f"train.{name}").read_bytes() for name in expected} == expected
    assert load_converted(out, split="train")["id"] == ["a", "b"]
