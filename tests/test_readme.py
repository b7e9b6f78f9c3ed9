"""Run README.md's examples, in order, as a newcomer would from the repository root (in a scratch folder)."""

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from signllm_hf.cli import main

ROOT = Path(__file__).resolve().parents[1]
SETUP_COMMANDS = ("python", "pip", "pytest")  # the install block: the environment running this test is that


def readme_blocks() -> list[tuple[str, str]]:
    # ```bash and ```python blocks run; ```shell and ```py blocks are shown only (they need trained models or GPUs).
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```(bash|python)\n(.*?)```", text, flags=re.S)


def test_readme_examples_run(tmp_path, monkeypatch, capsys):
    for folder in ("tests", "recipes"):  # the README points at tests/fixtures and recipes/configs
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    ran = 0
    for language, code in readme_blocks():
        if language == "python":
            exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
            ran += 1
            continue
        for line in code.splitlines():
            command = line.split("#")[0].strip()
            if not command or command.startswith(SETUP_COMMANDS):
                continue
            arguments = shlex.split(command)
            assert arguments[0] == "signllm", f"README runs an unexpected command: {command}"
            assert main(arguments[1:]) == 0, f"README command failed: {command}\n{capsys.readouterr().err}"
            ran += 1
    assert ran >= 16  # 5 Python blocks and 11 commands at the time of writing
    assert (tmp_path / "out" / "hello.gif").is_file() and (tmp_path / "out" / "how2sign" / "dev.skels").is_file()
    assert os.path.isdir(tmp_path / "models" / "tiny-signer")
    scores = json.loads((tmp_path / "out" / "scores.json").read_text())  # signllm train -> evaluate
    assert scores["clips"] == 8 and "bleu4" in scores["back_translation"]


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
