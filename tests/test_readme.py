"""Run README.md's examples, in order, as a newcomer would from the repository root (in a scratch folder): each
Python block and each command in a fresh process, and what a block prints compared with its ``# -> ...``
comments."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from signllm_hf.training.arguments import LOSS_MODES, NOISE_SCHEDULES, PLC_PRIORITIES, SignLLMTrainingArguments

ROOT = Path(__file__).resolve().parents[1]
SETUP_COMMANDS = ("python", "pip", "pytest")  # the install block: the environment running this test is that
PRINTS = "  # -> "  # the README's convention: `print(...)  # -> the line it prints` (`...` stands for any text)


def readme_blocks(kinds: str = "bash|python") -> list[tuple[str, str]]:
    # ```bash and ```python blocks run; ```shell and ```py blocks are shown only (they need trained models or GPUs).
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```({kinds})\n(.*?)```", text, flags=re.S)


def expected_prints(code: str) -> list[str]:
    """The ``# -> ...`` comment of every line that prints; a print without one is an error in the README."""
    expected = []
    for line in code.splitlines():
        if line.lstrip().startswith("print("):
            assert PRINTS in line, f"README example prints without saying what (add `{PRINTS.strip()} ...`): {line}"
            expected.append(line.split(PRINTS, 1)[1].strip())
    return expected


def matches(printed: str, expected: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, printed.strip()) is not None


def run_python_block(code: str, cwd: Path) -> None:
    script = cwd / "readme_block.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"README example failed:\n{code}\n{result.stderr[-3000:]}"
    printed, expected = result.stdout.splitlines(), expected_prints(code)
    assert len(printed) == len(expected), f"README example printed {printed}, its comments say {expected}"
    for line, comment in zip(printed, expected):
        assert matches(line, comment), f"README example printed {line!r}, its comment says {comment!r}"


def run_command(arguments: list[str], cwd: Path) -> None:
    """A README command in a process of its own, as people run it (the `signllm` console script's module)."""
    command = [sys.executable, "-m", "signllm_hf.cli", *arguments[1:]]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"README command failed: {shlex.join(arguments)}\n{result.stderr[-3000:]}"


def test_readme_examples_run(tmp_path):
    for folder in ("tests", "recipes"):  # the README points at tests/fixtures and recipes/configs
        (tmp_path / folder).symlink_to(ROOT / folder)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the README's commands run from the repository root, here the scratch folder
    ran = 0
    try:
        for language, code in readme_blocks():
            if language == "python":
                run_python_block(code, tmp_path)
                ran += 1
                continue
            for line in code.splitlines():
                command = line.split("#")[0].strip()
                if not command or command.startswith(SETUP_COMMANDS):
                    continue
                arguments = shlex.split(command)
                assert arguments[0] == "signllm", f"README runs an unexpected command: {command}"
                run_command(arguments, tmp_path)
                ran += 1
    finally:
        os.chdir(cwd)
    assert ran >= 16  # 6 Python blocks and 11 commands at the time of writing
    assert (tmp_path / "out" / "hello.gif").is_file() and (tmp_path / "out" / "how2sign" / "dev.skels").is_file()
    assert os.path.isdir(tmp_path / "models" / "tiny-signer")
    scores = json.loads((tmp_path / "out" / "scores.json").read_text())  # signllm train -> evaluate
    assert scores["clips"] == 8 and "bleu4" in scores["back_translation"]


def test_shown_only_examples_follow_the_print_convention():
    for _, code in readme_blocks("py"):
        expected_prints(code)


def test_print_comments_are_compared_as_the_readme_says():
    assert matches("hello (37, 50, 3)", "... (..., 50, 3)") and matches("gsg gsg gsg", "gsg gsg gsg")
    assert not matches("SignLLM-3x16M-Base-M", "SignLLM-3x18M-Base-M") and not matches("(37, 50)", "(..., 50, 3)")


def test_the_options_table_names_options_and_values_that_exist():
    """Every option of the README's `SignLLMTrainingArguments` table is a field, and every value it names is one the
    option accepts (or another field)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| option | what it does |", 1)[1].split("\n\n", 1)[0]
    fields = set(SignLLMTrainingArguments.__dataclass_fields__)
    choices = {"loss_mode": LOSS_MODES, "plc_priority": PLC_PRIORITIES, "gaussian_noise_schedule": NOISE_SCHEDULES}
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) >= 6
    for row in rows:
        options_cell, description = row.split(" | ", 1)
        options = re.findall(r"`([^`]+)`", options_cell)
        assert set(options) <= fields, f"README table lists unknown option(s) {set(options) - fields}"
        allowed = fields.union(*(choices.get(option, ()) for option in options))
        named = set(re.findall(r"`([^`]+)`", description))
        assert named <= allowed, f"README table row {options} names {named - allowed}, which the code lacks"


@pytest.mark.parametrize(
    "section",
    [
        "## Install and test",
        "## Quickstart",
        "## The model",
        "## Training",
        "## Evaluation",
        "## Convert your own OpenPose output",
    ],
)
def test_readme_has_the_sections_a_newcomer_needs(section):
    assert section in (ROOT / "README.md").read_text(encoding="utf-8")
