import signal
import subprocess
import sys
import textwrap

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
