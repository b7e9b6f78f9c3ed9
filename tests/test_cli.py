import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from signllm_hf import cli
from signllm_hf.cli import main
from signllm_hf.data import load_pose_dataset, read_pose_file


def test_synthetic_corpus_and_render_commands(tmp_path, capsys):
    out = tmp_path / "syn"
    args = [
        "corpus",
        "synthetic",
        str(out),
        "--languages",
        "ase,DGS",
        "--vocab-size",
        "10",
        "--train-sentences",
        "10",
        "--dev-sentences",
        "2",
        "--test-sentences",
        "2",
        "--quiet",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "train         20" in printed and "2: ase gsg" in printed
    assert main(args) == 2  # exists: refuses without --overwrite
    assert "--overwrite" in capsys.readouterr().err

    assert main(["render", str(out), "--split", "dev", "--index", "1", "--out", str(tmp_path / "a.gif")]) == 0
    length = len(load_pose_dataset(out, split="dev")[1]["pose"])
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == length
    assert main(["render", str(out), "--out", str(tmp_path / "a.pose"), "--id", "synthetic/gsg/train/00003"]) == 0
    exported = read_pose_file(tmp_path / "a.pose")
    original = next(r for r in load_pose_dataset(out, split="train") if r["id"] == "synthetic/gsg/train/00003")
    np.testing.assert_allclose(exported.pose, original["pose"], atol=1e-5)
    args = [
        "render",
        str(tmp_path / "a.pose"),
        "--compare",
        str(out),
        "--out",
        str(tmp_path / "b.gif"),
        "--size",
        "80",
    ]
    assert main(args) == 0
    with Image.open(tmp_path / "b.gif") as gif:
        assert gif.size == (160, 80)


def test_user_errors_are_one_line(tmp_path, capsys):
    assert main(["render", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("signllm: error: ") and "no such file or folder" in err and "Traceback" not in err
    assert main(["corpus", "synthetic", str(tmp_path / "s"), "--languages", "xx", "--quiet"]) == 2
    assert "unknown sign language 'xx'" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "signllm_hf.cli", "corpus", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "fingerspelling" in result.stdout and "synthetic" in result.stdout


def test_ctrl_c_exits_quietly_with_130(monkeypatch, capsys):
    def interrupted(args):
        signal.raise_signal(signal.SIGINT)  # what Ctrl-C sends; Python raises KeyboardInterrupt in the command
        raise AssertionError("not interrupted")

    monkeypatch.setattr(cli, "run_synthetic", interrupted)
    # As in a terminal, even when the tests run in the background (where SIGINT starts out ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        try:
            code = main(["corpus", "synthetic", "out"])
        except KeyboardInterrupt:  # would end the whole test session, not fail this test
            pytest.fail("KeyboardInterrupt escaped main()")
        assert code == 130 and capsys.readouterr().err == "signllm: interrupted\n"
        with pytest.raises(KeyboardInterrupt):  # unless the trace was asked for
            main(["--traceback", "corpus", "synthetic", "out"])
    finally:
        signal.signal(signal.SIGINT, previous)


def test_sigint_to_a_running_command(tmp_path):
    # A real process and a real signal, sent once the command runs (a Ctrl-C while Python still imports the
    # package happens before main() can catch it).
    script = textwrap.dedent(
        """
        import signal, sys, time
        from signllm_hf import cli

        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, also when run in the background

        def running(args):
            print("running", flush=True)
            time.sleep(120)

        cli.run_synthetic = running
        sys.exit(cli.main(["corpus", "synthetic", "out"]))
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert process.stdout.readline() == "running\n"
        process.send_signal(signal.SIGINT)
        _, error = process.communicate(timeout=60)
    finally:
        process.kill()  # a no-op once it has exited
    assert process.returncode == 130 and error.endswith("signllm: interrupted\n") and "Traceback" not in error


def test_help_imports_neither_torch_nor_transformers():
    # The console script itself, as people run it; -X importtime lists every module the process imports.
    script = Path(sys.executable).parent / "signllm"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "train-back-translator" in result.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import")}
    assert "signllm_hf.cli" in imported
    heavy = sorted(name for name in imported if name.split(".")[0] in {"torch", "transformers", "datasets", "numpy"})
    assert heavy == []


def test_progress_bars_only_on_a_terminal(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli.progress_bars_wanted()
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert not cli.progress_bars_wanted()
    monkeypatch.delenv("TQDM_DISABLE")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # a log file, a pipe
    assert not cli.progress_bars_wanted()


def test_a_command_into_a_pipe_draws_no_bars_and_registers(tmp_path):
    # No --quiet: stderr is a pipe, so neither our bars nor datasets' ("Saving the dataset") are drawn. The command
    # also loads the models it needs after parsing (the `signllm` process defers registering with transformers).
    command = [str(Path(sys.executable).parent / "signllm"), "corpus", "synthetic", str(tmp_path / "corpus")]
    sizes = ["--languages", "ase", "--vocab-size", "8", "--train-sentences", "4"]
    result = subprocess.run(
        [*command, *sizes, "--dev_sentences", "1", "--test_sentences", "1"],  # underscores: accepted too
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr and "it/s" not in result.stderr and "%|" not in result.stderr
    assert f"wrote {tmp_path / 'corpus'}" in result.stdout
    assert load_pose_dataset(tmp_path / "corpus")["dev"].num_rows == 1


def test_one_flag_style_dashes_and_underscores_alike(capsys):
    parser = cli.make_parser()
    cli._accept_underscores(parser)
    for spelling in ("--max-steps", "--max_steps"):
        args = parser.parse_args(["train-back-translator", "data", "out", spelling, "7", "--batch_size", "3"])
        assert (args.max_steps, args.batch_size) == (7, 3)
    with pytest.raises(SystemExit):
        parser.parse_args(["train-back-translator", "--help"])
    help_text = capsys.readouterr().out
    assert "--max-steps" in help_text and "--max_steps" not in help_text  # documented with dashes


def test_library_hints_become_options():
    assert cli.as_options("pass `language=`: this model signs ['ase']") == "pass --language: this model signs ['ase']"
    assert cli.as_options("with language=); or (`prompt_stage_steps`)") == (
        "with --language); or (--prompt-stage-steps)"
    )
    assert cli.as_options("`max_frames=9000` is more than") == "`max_frames=9000` is more than"  # a value, kept


def test_training_logs_lines_and_says_where_it_saved(tmp_path, capsys, caplog):
    import logging

    from tests.training.helpers import tiny_cli, tiny_corpus

    corpus = tiny_corpus(tmp_path / "corpus", vocab_size=8, train_sentences=6)
    capsys.readouterr()
    caplog.set_level(logging.INFO, logger="signllm_hf.training.progress")
    flags = tiny_cli(max_steps=4, logging_steps=2) + ["--train_seconds", "600"]  # a time budget never reached
    del flags[flags.index("--disable_tqdm") : flags.index("--disable_tqdm") + 2]  # the command decides: no terminal
    out = tmp_path / "model"
    assert main(["train", "--dataset", str(corpus), "--output-dir", str(out), *flags]) == 0
    printed = capsys.readouterr().out
    assert "{'loss'" not in printed and "\r" not in printed
    lines = [r.getMessage() for r in caplog.records if r.name == "signllm_hf.training.progress"]
    assert [line.split(":")[0] for line in lines[:2]] == ["step 2/4", "step 4/4"]
    assert lines[0].startswith("step 2/4: loss ") and "learning_rate" in lines[0]
    saved = [line for line in printed.splitlines() if line.startswith("saved ")]
    assert len(saved) == 1 and re.fullmatch(rf"saved SignLLM-2x\S+-M \(4 steps\) to {re.escape(str(out))}", saved[0])


def test_printed_back_translation_scores_are_all_percentages():
    from signllm_hf.evaluation import format_table

    text = {"bleu1": 40.0, "bleu2": 30.0, "bleu3": 20.0, "bleu4": 12.5, "rouge_l": 45.0, "chrf": 38.2, "wer": 0.124}
    result = {"clips": 4, "dtw": 1.0, "dtw_mje": 0.5, "length_error": 0.25, "back_translation": text}
    rows = format_table(result | {"back_translation_of_references": text | {"wer": 0.05}}).splitlines()
    assert "| bleu4 | 12.50 | 12.50 |" in rows and "| wer | 12.40 | 5.00 |" in rows  # WER, a rate, as a percentage
