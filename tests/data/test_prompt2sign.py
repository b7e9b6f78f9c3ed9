import shutil

import numpy as np
import pytest

from signllm_hf.data import read_prompt2sign, write_prompt2sign
from signllm_hf.data.dataset import pose_dataset_from_rows
from signllm_hf.data.prompt2sign import PROMPT2SIGN_MISSING, parse_skels_line, read_skels_clip
from tests.conftest import pose_rows

TRAIN_FRAMES = [86, 126, 168, 185, 71]
DEV_FRAMES = [42, 111, 148, 142, 93]


def test_phoenix_sample_frame_counts_and_alignment(phoenix_dir):
    splits = read_prompt2sign(phoenix_dir, language="GSL")
    assert list(splits) == ["train", "dev"]
    assert [len(p) for p in splits["train"]["pose"]] == TRAIN_FRAMES
    assert [len(p) for p in splits["dev"]["pose"]] == DEV_FRAMES
    train = splits["train"]
    gloss_lines = (phoenix_dir / "train.gloss").read_text(encoding="utf-8").splitlines()
    text_lines = (phoenix_dir / "train.text").read_text(encoding="utf-8").splitlines()
    assert train["gloss"] == [g.strip() for g in gloss_lines]
    assert train["text"] == [t.strip() for t in text_lines]
    assert train[0]["id"] == "train/11August_2010_Wednesday_tagesschau-1"
    assert train[0]["gloss"].startswith("JETZT WETTER MORGEN")
    assert train[0]["text"].startswith("und nun die wettervorhersage")
    assert set(train["language"]) == {"gsg"}
    assert train[0]["pose"].dtype == np.float32 and train[0]["pose"].shape == (86, 50, 3)


def test_phoenix_values_are_unscaled_by_three(phoenix_dir):
    first_line = (phoenix_dir / "train.skels").read_text().split("\n")[0]
    values = np.array(first_line.split()[:150], dtype=np.float64)
    pose = read_prompt2sign(phoenix_dir, "train", language="gsg")[0]["pose"]
    np.testing.assert_allclose(pose[0].reshape(-1), values * 3, atol=1e-6)
    widths = np.linalg.norm(pose[:, 2] - pose[:, 5], axis=-1)
    assert 0.9 < np.median(widths) < 1.1  # PT's lifted units: shoulder width about 1


@pytest.mark.parametrize("variant", ["progressive_transformers", "prompt2sign"])
def test_write_read_round_trip(phoenix_dir, tmp_path, variant):
    original = read_prompt2sign(phoenix_dir, language="gsg")
    for split, dataset in original.items():
        write_prompt2sign(dataset, tmp_path, split, variant=variant)
    again = read_prompt2sign(tmp_path, language="gsg")  # variant detected from the counter
    for split in original:
        for a, b in zip(original[split]["pose"], again[split]["pose"]):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, atol=1e-5)
        for a, b in zip(original[split]["confidence"], again[split]["confidence"]):
            np.testing.assert_array_equal(a, b)
        for column in ("id", "text", "gloss"):
            assert original[split][column] == again[split][column]


def test_counter_convention_is_written_per_variant(tmp_path):
    dataset = pose_dataset_from_rows(pose_rows([4]))
    write_prompt2sign(dataset, tmp_path / "pt", "train")
    write_prompt2sign(dataset, tmp_path / "p2s", "train", variant="prompt2sign")
    _, pt_counter = parse_skels_line((tmp_path / "pt/train.skels").read_text(), "pt")
    _, p2s_counter = parse_skels_line((tmp_path / "p2s/train.skels").read_text(), "p2s")
    np.testing.assert_allclose(pt_counter, [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(p2s_counter, [0.25, 0.5, 0.75, 1.0])
    pt_values, _ = parse_skels_line((tmp_path / "pt/train.skels").read_text(), "pt")
    p2s_values, _ = parse_skels_line((tmp_path / "p2s/train.skels").read_text(), "p2s")
    np.testing.assert_allclose(pt_values * 3, p2s_values * 9, atol=2e-5)


def test_prompt2sign_missing_marker_becomes_confidence_zero(tmp_path):
    rows = pose_rows([6])
    rows[0]["confidence"][2, 10] = 0.0  # one joint unseen in frame 2
    write_prompt2sign(pose_dataset_from_rows(rows), tmp_path, "dev", variant="prompt2sign")
    assert (
        f"{PROMPT2SIGN_MISSING:.5f} {PROMPT2SIGN_MISSING:.5f} {PROMPT2SIGN_MISSING:.5f}"
        in (tmp_path / "dev.skels").read_text()
    )
    row = read_prompt2sign(tmp_path, "dev", language="ase")[0]
    assert row["confidence"][2, 10] == 0 and row["confidence"].sum() == 6 * 50 - 1
    expected = (rows[0]["pose"][1, 10] + rows[0]["pose"][3, 10]) / 2  # filled by interpolation over time
    np.testing.assert_allclose(row["pose"][2, 10], expected, atol=1e-4)


def test_explicit_variant_and_scale_override_detection(phoenix_dir):
    pose = read_prompt2sign(phoenix_dir, "dev", language="gsg", variant="progressive_transformers", scale=1.0)[0][
        "pose"
    ]
    auto = read_prompt2sign(phoenix_dir, "dev", language="gsg")[0]["pose"]
    np.testing.assert_allclose(pose * 3, auto, atol=1e-6)


@pytest.fixture
def phoenix_copy(phoenix_dir, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(phoenix_dir, target)
    for path in target.iterdir():
        path.chmod(0o644)
    return target


def _rewrite_line(path, index, new_line):
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[index] = new_line
    path.write_text("\n".join(lines), encoding="utf-8")


def test_value_count_not_multiple_of_151(phoenix_copy):
    line = (phoenix_copy / "dev.skels").read_text().split("\n")[2]
    _rewrite_line(phoenix_copy / "dev.skels", 2, " ".join(line.split()[:-5]))
    with pytest.raises(ValueError, match=r"dev\.skels line 3: 22343 values is not a multiple of 151"):
        read_prompt2sign(phoenix_copy, "dev", language="gsg")


def test_nan_and_garbage_tokens_name_the_line(phoenix_copy):
    line = (phoenix_copy / "dev.skels").read_text().split("\n")[1].split()
    line[160] = "nan"
    _rewrite_line(phoenix_copy / "dev.skels", 1, " ".join(line))
    with pytest.raises(ValueError, match=r"dev\.skels line 2: NaN/inf at frame 1, value 9"):
        read_prompt2sign(phoenix_copy, "dev", language="gsg")
    line[160] = "0.1x"
    _rewrite_line(phoenix_copy / "dev.skels", 1, " ".join(line))
    with pytest.raises(ValueError, match=r"dev\.skels line 2: '0\.1x' is not a number"):
        read_prompt2sign(phoenix_copy, "dev", language="gsg")


def test_numbers_python_reads_but_the_format_does_not_hold(phoenix_copy):
    line = (phoenix_copy / "dev.skels").read_text().split("\n")[1].split()
    line[160] = "1_0"  # float() reads 10
    _rewrite_line(phoenix_copy / "dev.skels", 1, " ".join(line))
    with pytest.raises(ValueError, match=r"dev\.skels line 2: '1_0' is not a number; \.skels lines hold only numbers"):
        read_prompt2sign(phoenix_copy, "dev", language="gsg")
    line[160] = "1e300"  # finite, but no float32
    _rewrite_line(phoenix_copy / "dev.skels", 1, " ".join(line))
    with pytest.raises(ValueError, match=r"dev\.skels line 2: '1e300' at frame 1, value 9 \(of 151\) is out of range"):
        read_prompt2sign(phoenix_copy, "dev", language="gsg")
    line[160] = "2e38"  # a float32, but not once multiplied by the variant's scale of 3
    _rewrite_line(phoenix_copy / "dev.skels", 1, " ".join(line))
    with pytest.raises(ValueError, match=r"dev\.skels line 2: 2e\+38 at frame 1, value 9 times the scale 3 is out"):
        read_prompt2sign(phoenix_copy, "dev", language="gsg")


def test_a_comma_separated_line_is_quoted_once_and_short(phoenix_copy):
    line = (phoenix_copy / "dev.skels").read_text().split("\n")[0]
    _rewrite_line(phoenix_copy / "dev.skels", 0, line.replace(" ", ","))
    with pytest.raises(ValueError) as error:
        read_prompt2sign(phoenix_copy, "dev", language="gsg")
    message = str(error.value)
    assert message.startswith(f"{phoenix_copy / 'dev.skels'} line 1: '{line.replace(' ', ',')[:80]}'... (")
    assert "separates values with commas" in message and len(message) < 400


def test_a_binary_file_is_named_with_what_to_do(phoenix_copy):
    (phoenix_copy / "dev.skels").write_bytes(bytes(range(256)) * 4)
    for read in (
        lambda: read_prompt2sign(phoenix_copy, "dev", language="gsg"),
        lambda: read_skels_clip(phoenix_copy / "dev.skels"),
    ):
        with pytest.raises(
            ValueError, match=r"dev\.skels: not UTF-8 text \(it holds the byte 0x80\).*re-save it as UTF-8"
        ):
            read()


def test_split_files_with_different_line_counts(phoenix_copy):
    lines = (phoenix_copy / "train.text").read_text(encoding="utf-8").split("\n")
    (phoenix_copy / "train.text").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"train.skels: 5 lines, train.text: 3 lines"):
        read_prompt2sign(phoenix_copy, "train", language="gsg")


def test_missing_files_and_folders(phoenix_copy, tmp_path):
    (phoenix_copy / "dev.text").unlink()
    with pytest.raises(FileNotFoundError, match=r"dev\.text: missing; a 'dev' split needs dev\.skels and dev\.text"):
        read_prompt2sign(phoenix_copy, "dev", language="gsg")
    (phoenix_copy / "train.gloss").unlink()
    (phoenix_copy / "train.files").unlink()
    train = read_prompt2sign(phoenix_copy, "train", language="gsg")  # gloss and files are optional
    assert train["id"][:2] == ["train/0", "train/1"] and set(train["gloss"]) == {""}
    with pytest.raises(FileNotFoundError, match="no such directory"):
        read_prompt2sign(tmp_path / "nowhere", language="gsg")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no \\*.skels files"):
        read_prompt2sign(tmp_path / "empty", language="gsg")


def test_unknown_language_and_unclear_counter(phoenix_copy):
    with pytest.raises(ValueError, match="unknown sign language 'klingon'"):
        read_prompt2sign(phoenix_copy, "dev", language="klingon")
    line = (phoenix_copy / "dev.skels").read_text().split("\n")[0].split()
    line[150] = "0.5"  # first counter neither 0 nor 1/T
    _rewrite_line(phoenix_copy / "dev.skels", 0, " ".join(line))
    with pytest.raises(ValueError, match="cannot tell the counter convention: line 1 starts its counter at 0.5"):
        read_prompt2sign(phoenix_copy, "dev", language="gsg")


def test_failed_write_leaves_nothing_behind(tmp_path):
    rows = pose_rows([3, 4])
    rows[1]["text"] = "two\nlines"
    with pytest.raises(ValueError, match="clip 'clip-1': its text contains a line break"):
        write_prompt2sign(pose_dataset_from_rows(rows), tmp_path, "train")
    assert list(tmp_path.iterdir()) == []


def test_rewrite_replaces_all_four_files(tmp_path):
    write_prompt2sign(pose_dataset_from_rows(pose_rows([3, 4])), tmp_path, "test")
    write_prompt2sign(pose_dataset_from_rows(pose_rows([5])), tmp_path, "test")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.files", "test.gloss", "test.skels", "test.text"]
    assert [len(p) for p in read_prompt2sign(tmp_path, "test", language="ase")["pose"]] == [5]


def test_tool_shaped_lines_markers_and_counter(tmp_path):
    # A line as the Prompt2Sign tool writes it: value / 9 with 5 decimals, 0/NaN as 0.01600, counter round(i/T, 5).
    rows = pose_rows([7])
    values = rows[0]["pose"].reshape(7, 150) / 9
    values[3, 30:33] = np.nan  # joint 10 missing in frame 3: the tool writes the 0.01600 triple
    values[5, 2] = 0.0  # one exactly-zero coordinate: a lone 0.01600
    cells = [["0.01600" if not np.isfinite(v) or v == 0 else f"{v:.5f}" for v in frame] for frame in values]
    line = " ".join(" ".join(frame) + f" {round((t + 1) / 7, 5)}" for t, frame in enumerate(cells))
    (tmp_path / "dev.skels").write_text(line + "\n", encoding="utf-8")
    (tmp_path / "dev.text").write_text("a sentence\n", encoding="utf-8")
    row = read_prompt2sign(tmp_path, "dev", language="ase")[0]
    assert row["confidence"][3, 10] == 0 and row["confidence"].sum() == 7 * 50 - 1
    expected = (rows[0]["pose"][2, 10] + rows[0]["pose"][4, 10]) / 2
    np.testing.assert_allclose(row["pose"][3, 10], expected, atol=1e-3)
    assert row["pose"][5, 0, 2] == pytest.approx(0.144, abs=1e-6)  # a lone marker stays a value (see decode_frames)


def test_our_writer_with_few_decimals_still_reads_back(tmp_path):
    dataset = pose_dataset_from_rows(pose_rows([7, 3]))
    write_prompt2sign(dataset, tmp_path, "dev", variant="prompt2sign", decimals=4)  # first counter 0.1429
    back = read_prompt2sign(tmp_path, "dev", language="ase")
    np.testing.assert_allclose(back[0]["pose"], dataset[0]["pose"], atol=5e-4)
    np.testing.assert_array_equal(back[1]["confidence"], dataset[1]["confidence"])


def test_crlf_bom_trailing_blank_lines_and_hidden_files(tmp_path):
    write_prompt2sign(pose_dataset_from_rows(pose_rows([3, 4])), tmp_path, "dev")
    text = (tmp_path / "dev.text").read_text(encoding="utf-8")
    (tmp_path / "dev.text").write_text("\ufeff" + text.replace("\n", "\r\n") + "\r\n\r\n", encoding="utf-8")
    (tmp_path / "dev.skels").write_text((tmp_path / "dev.skels").read_text() + "\n\n", encoding="utf-8")
    (tmp_path / ".dev.skels.k2j3.tmp.skels").write_text("left behind by a killed writer")
    back = read_prompt2sign(tmp_path, language="ase")
    assert list(back) == ["dev"]
    assert back["dev"]["text"] == ["sentence number 0", "sentence number 1"]


def test_undecodable_text_and_blank_lines_inside(tmp_path):
    write_prompt2sign(pose_dataset_from_rows(pose_rows([3, 4])), tmp_path, "dev")
    (tmp_path / "dev.text").write_bytes("über\nnoch\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"dev\.text: not UTF-8 text .*re-save it as UTF-8"):
        read_prompt2sign(tmp_path, "dev", language="ase")
    skels = (tmp_path / "dev.skels").read_text().split("\n")
    (tmp_path / "dev.skels").write_text(skels[0] + "\n\n" + skels[1] + "\n")
    with pytest.raises(ValueError, match=r"dev\.skels line 2: the line is empty"):
        read_prompt2sign(tmp_path, "dev", language="ase")


def test_reading_again_after_an_edit_is_not_stale(tmp_path):
    write_prompt2sign(pose_dataset_from_rows(pose_rows([3])), tmp_path, "dev")
    assert len(read_prompt2sign(tmp_path, "dev", language="ase")[0]["pose"]) == 3
    write_prompt2sign(pose_dataset_from_rows(pose_rows([5])), tmp_path, "dev")
    assert len(read_prompt2sign(tmp_path, "dev", language="ase")[0]["pose"]) == 5


def test_duplicate_ids_in_files(phoenix_copy):
    ids = (phoenix_copy / "dev.files").read_text().split("\n")
    ids[1] = ids[0]
    (phoenix_copy / "dev.files").write_text("\n".join(ids))
    with pytest.raises(ValueError, match=r"dev\.files: duplicate clip ids \['dev/"):
        read_prompt2sign(phoenix_copy, "dev", language="gsg")


def test_datasets_without_optional_columns_can_be_written(tmp_path):
    from datasets import Dataset

    plain = Dataset.from_dict({"id": ["a"], "language": ["ASL"], "text": ["hi"], "pose": [np.zeros((2, 50, 3))]})
    write_prompt2sign(plain, tmp_path, "test", variant="prompt2sign")
    assert read_prompt2sign(tmp_path, "test", language="ase")[0]["pose"].shape == (2, 50, 3)
