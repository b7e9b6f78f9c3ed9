"""Which checkpoint a run resumes from: the newest *complete* one.

A run killed while it writes ``checkpoint-N/`` (SIGKILL, a pre-empted node, a full disk) leaves a folder that
`Trainer` cannot resume from, and ``get_last_checkpoint`` picks it all the same, since it only looks at folder names.
The Trainer writes a checkpoint in this order: the model (weights, config, tokenizer), the optimizer and scheduler,
the random states (and SignLLM's ``plc_state.npz``), and ``trainer_state.json`` last. A checkpoint is complete when

- ``trainer_state.json`` parses;
- the model weights are there and whole (a safetensors file's header covers the whole file; every shard of an index);
- ``optimizer.pt`` and ``scheduler.pt`` are there and whole, unless the run saves the model only;
- the files a trainer adds are there and whole (``plc_state.npz`` for `SignLLMTrainer`);
- any random-state file is whole (a missing one only makes `Trainer` warn).

"Whole" for a ``torch.save`` or ``.npz`` file (zip archives) means its central directory, written last, is there.

Example:
    >>> import tempfile
    >>> from signllm_hf.training.checkpoints import checkpoint_problems
    >>> checkpoint_problems(tempfile.mkdtemp())
    ['no trainer_state.json', 'no model weights (model.safetensors)', 'no optimizer.pt', 'no scheduler.pt']
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from pathlib import Path

from safetensors import safe_open
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

logger = logging.getLogger(__name__)
TRAINER_STATE = "trainer_state.json"
PLC_STATE = "plc_state.npz"
CHECKPOINT_PATTERN = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")
# Weights and optimizer states other set-ups write instead (FSDP, DeepSpeed, PEFT): present is enough for those.
OTHER_WEIGHTS = ("pytorch_model_fsdp_*", "global_step*")
OTHER_OPTIMIZERS = ("optimizer_*", "optimizer.bin", "rank*-of-*-optimizer.pt", "global_step*")


def _whole_safetensors(path: Path) -> str | None:
    try:
        with safe_open(str(path), framework="pt"):  # checks that the header's tensors cover the whole file
            return None
    except Exception as error:  # noqa: BLE001 (safetensors raises its own error types)
        return f"{path.name} is cut short or unreadable ({error})"


def _whole_zip(path: Path) -> str | None:
    return None if zipfile.is_zipfile(path) else f"{path.name} is cut short (no zip directory at its end)"


def _weight_problems(folder: Path) -> list[str]:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (ValueError, KeyError) as error:
            return [f"{index.name} is cut short or unreadable ({error})"]
        problems = [
            _whole_safetensors(folder / name) if (folder / name).is_file() else f"no {name} (a shard of {index.name})"
            for name in shards
        ]
        return [problem for problem in problems if problem]
    for name in ("model.safetensors", "adapter_model.safetensors"):
        if (folder / name).is_file():
            problem = _whole_safetensors(folder / name)
            return [problem] if problem else []
    if (folder / "pytorch_model.bin").is_file():
        problem = _whole_zip(folder / "pytorch_model.bin")
        return [problem] if problem else []
    if any(any(folder.glob(pattern)) for pattern in OTHER_WEIGHTS):
        return []
    return ["no model weights (model.safetensors)"]


def checkpoint_problems(folder: str | Path, *, optimizer: bool = True, extra_files: tuple[str, ...] = ()) -> list[str]:
    """What keeps ``folder`` from being a complete checkpoint (empty: it is complete).

    ``optimizer``: the run saves the optimizer and scheduler (``save_only_model`` is off); ``extra_files``: files
    the trainer adds to every checkpoint (zip archives, such as ``plc_state.npz``).
    """
    folder = Path(folder)
    problems = []
    state = folder / TRAINER_STATE
    if not state.is_file():
        problems.append(f"no {TRAINER_STATE}")
    else:
        try:
            json.loads(state.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            problems.append(f"{TRAINER_STATE} is cut short or unreadable ({error})")
    problems += _weight_problems(folder)
    needed = [*(("optimizer.pt", "scheduler.pt") if optimizer else ()), *extra_files]
    if optimizer and any(any(folder.glob(pattern)) for pattern in OTHER_OPTIMIZERS):
        needed = [name for name in needed if name != "optimizer.pt"]  # FSDP / DeepSpeed keep it their own way
    for name in needed:
        path = folder / name
        problem = _whole_zip(path) if path.is_file() else f"no {name}"
        if problem:
            problems.append(problem)
    for path in sorted(folder.glob("rng_state*.pth")):
        problem = _whole_zip(path)
        if problem:
            problems.append(problem)
    return problems


def check_checkpoint(folder: str | Path, **requirements) -> str:
    """``folder`` as a string if it is a complete checkpoint, else an error that says what it lacks."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"--resume_from_checkpoint {folder}: no such checkpoint folder")
    problems = checkpoint_problems(folder, **requirements)
    if problems:
        raise ValueError(
            f"{folder} is not a complete checkpoint ({'; '.join(problems)}): it was probably cut while being "
            "written; resume from an earlier one, or pass --resume_from_checkpoint true for the last complete one"
        )
    return str(folder)


def last_complete_checkpoint(output_dir: str | Path, **requirements) -> str:
    """The newest complete ``checkpoint-N`` folder of ``output_dir``; incomplete newer ones are skipped with a
    warning. Raises if there is no checkpoint folder, or none is complete (naming each and what it lacks)."""
    output_dir = Path(output_dir)
    folders = [path for path in output_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*") if CHECKPOINT_PATTERN.match(path.name)]
    folders = [path for path in folders if path.is_dir()]
    if not folders:
        raise ValueError(f"--resume_from_checkpoint true: no checkpoint-* folder in {output_dir}")
    skipped = []
    for folder in sorted(folders, key=lambda path: int(CHECKPOINT_PATTERN.match(path.name).group(1)), reverse=True):
        problems = checkpoint_problems(folder, **requirements)
        if not problems:
            return str(folder)
        logger.warning("skipping %s, an incomplete checkpoint: %s", folder, "; ".join(problems))
        skipped.append(f"{folder.name} ({'; '.join(problems)})")
    raise ValueError(
        f"--resume_from_checkpoint true: no complete checkpoint in {output_dir}: {', '.join(skipped)}; start again "
        "without --resume_from_checkpoint"
    )


def resolve_checkpoint(resume, output_dir: str | Path, **requirements) -> str | None:
    """``--resume_from_checkpoint``'s value as a folder to resume from: None for none (None, false, no, ""); the
    newest complete checkpoint of ``output_dir`` for true, yes or last; else the named folder, if complete."""
    if resume is None or resume is False or str(resume).lower() in ("false", "no", ""):
        return None
    if resume is True or str(resume).lower() in ("true", "yes", "last"):
        return last_complete_checkpoint(output_dir, **requirements)
    return check_checkpoint(resume, **requirements)
