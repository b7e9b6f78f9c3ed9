"""One way to train any model of the library: the signer, the back-translator, the prompt stage, and what comes.

Each model brings only what is its own (its tokenizer, its model, its collator, its Trainer class); this module
does the rest, the same way for all of them:

- :func:`parse_arguments`: argument dataclasses from a YAML file (``--config``) and command-line flags (which win);
- :func:`code_arguments`: `TrainingArguments` for a model trained from code (a judge, the prompt stage), with the
  settings every such run shares (no integrations, no checkpoints, the CPU when there is no GPU);
- :func:`train_model`: the Trainer, the time budget and its progress bar, training (resumable), evaluation, saving
  the model with its tokenizer, its training arguments (``training_args.json``), the run's metrics
  (``metrics.json``) and its model card (``README.md``, :mod:`signllm_hf.evaluation.model_card`) on the main
  process;
- :func:`distributed_run`: the end of a run under ``accelerate launch`` / ``torchrun``: every process waits for the
  main one's last writes, then the process group is destroyed (not left to the interpreter's exit).

Example:
    >>> from transformers import TrainingArguments
    >>> from signllm_hf.training.scaffold import code_arguments
    >>> args = code_arguments(TrainingArguments, "/tmp/run", max_steps=100, batch_size=8, learning_rate=1e-3)
    >>> args.max_steps, args.per_device_train_batch_size, str(args.save_strategy.value), args.report_to
    (100, 8, 'no', [])
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from pathlib import Path

import torch
import yaml
from transformers import HfArgumentParser, PrinterCallback, Trainer

from ..evaluation.model_card import write_model_card
from ..pipeline_signllm import save_remote_pipeline
from .callbacks import LogLines, StopAfter

logger = logging.getLogger(__name__)
METRICS_FILE = "metrics.json"
ARGUMENTS_FILE = "training_args.json"
PICKLED_ARGUMENTS = "training_args.bin"  # what Trainer.save_model writes; no pickle ships beside the safetensors


def make_parser(dataclass_types) -> HfArgumentParser:
    """An ``HfArgumentParser`` over ``dataclass_types`` with ``--config FILE.yaml``."""
    parser = HfArgumentParser(dataclass_types)
    parser.add_argument("--config", help="YAML file of arguments (command-line flags override it)")
    return parser


def parse_arguments(
    dataclass_types, argv: list[str] | None = None, command: str = "signllm train", required: dict | None = None
) -> tuple:
    """One instance of each of ``dataclass_types``, from ``--config FILE.yaml`` and the command line (which wins).

    A YAML key must be a field of one of the dataclasses: a typo is an error, not a silently ignored setting.
    ``required`` maps fields that the config or the command line must give to what they are (for the error).
    """
    parser = make_parser(dataclass_types)
    given = sys.argv[1:] if argv is None else argv
    argv = []
    for argument in given:  # --config=FILE -> --config FILE
        argv.extend(argument.split("=", 1) if argument.startswith("--config=") else [argument])
    if "--config" in argv:
        position = argv.index("--config")
        if position + 1 == len(argv):
            raise ValueError("--config needs a YAML file")
        path = Path(argv[position + 1])
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such config file")
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(settings, dict):
            raise ValueError(f"{path}: a config is a YAML mapping of setting: value, got {type(settings).__name__}")
        known = {action.dest for action in parser._actions}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"{path}: unknown setting(s) {unknown}; see `{command} --help`")
        parser.set_defaults(**settings)
        del argv[position : position + 2]
    given, _ = parser.parse_known_args(args=argv)  # before the dataclasses fill their defaults in
    for name, what in (required or {}).items():
        if getattr(given, name, None) is None:
            raise ValueError(f"pass --{name} ({what}) or set `{name}` in the config")
    try:
        *parsed, _ = parser.parse_args_into_dataclasses(args=argv)
    except ValueError as error:
        if "bf16" not in str(error):
            raise
        raise ValueError(f"{error} (this machine has no bf16 GPU: pass --bf16 false to train in float32)") from error
    return tuple(parsed)


def code_arguments(
    arguments_class,
    output_dir: str,
    *,
    max_steps: int,
    batch_size: int,
    learning_rate: float,
    seconds: float | None = None,
    seed: int = 0,
    progress: bool = True,
    use_cpu: bool | None = None,
    **settings,
):
    """``arguments_class`` (a `TrainingArguments`) for a model trained from code: ``max_steps`` (or ``seconds``,
    whichever comes first), a short warm-up, no checkpoints, no integrations, the CPU when there is no GPU.

    The learning rate warms up, then decays linearly to 0: over all of ``max_steps``, or, with a time budget, over
    its last fifth after a constant stretch (``warmup_stable_decay``, which ``StopAfter`` stretches over the clock; a
    decay over the whole of a short budget leaves the model undertrained, none leaves it imprecise). With a budget the
    Trainer's progress bar gives way to the budget's.
    """
    defaults = {
        "output_dir": str(output_dir),
        "max_steps": max_steps,
        "per_device_train_batch_size": batch_size,
        "learning_rate": learning_rate,
        "warmup_steps": min(100, max(1, max_steps // 20)),
        "lr_scheduler_type": "warmup_stable_decay" if seconds else "linear",
        "lr_scheduler_kwargs": {"num_decay_steps": max(max_steps // 5, 1), "decay_type": "linear"} if seconds else {},
        "logging_steps": max(max_steps // 20, 1),
        "save_strategy": "no",
        "report_to": [],
        "disable_tqdm": not progress or seconds is not None,
        "seed": seed,
        "use_cpu": not torch.cuda.is_available() if use_cpu is None else use_cpu,
    }
    if "lr_scheduler_type" in settings:  # another schedule: the default's arguments are not its own
        defaults["lr_scheduler_kwargs"] = {}
    return arguments_class(**(defaults | settings))


@contextlib.contextmanager
def distributed_run():
    """End a run that sets up a process group (``torch.distributed``, through accelerate's state when the training
    arguments are built) by destroying it: every process first waits at a barrier for the others, so the main
    process's last writes (the model, ``metrics.json``) are done before any process leaves, then the group is
    destroyed. Left to the interpreter's exit, gloo is torn down in whatever order finalisation takes while process
    0 may still be writing; the two-process test once aborted that way under load ("terminate called without an
    active exception", SIGABRT in process 1 after saving; ``benchmarks/results/ddp_soak.md``).

    On an error there is no barrier (the other processes may be inside any collective: a barrier would pair with it
    and wait until the timeout) and the error goes on. A gloo group (the CPU) is still destroyed: the others see the
    connection close and fail at once (verified with one process failing while the other waited in an all-reduce).
    An NCCL group is left to the launcher, which stops the other processes: destroying it while collectives are
    pending can hang (https://github.com/pytorch/torchtitan/pull/1342). A group that was already there when the run
    began is its creator's to end, and is left alone.
    """
    owned = not _distributed()
    finished = False
    try:
        yield
        finished = True
    finally:
        if owned and _distributed() and (finished or torch.distributed.get_backend() == "gloo"):
            try:
                if finished:
                    torch.distributed.barrier()
            finally:
                torch.distributed.destroy_process_group()


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def save_final_model(trainer: Trainer, output_dir: str | Path, processing_class=None) -> None:
    """The trained model in ``output_dir`` (every process takes part; the main one writes) with its
    ``processing_class`` and its training arguments as ``training_args.json``, instead of the Trainer's pickle
    (``training_args.bin``: a pickle runs code when loaded, it has no place beside safetensors on the Hub).
    Checkpoints keep the Trainer's own files."""
    trainer.save_model(str(output_dir))
    if not trainer.is_world_process_zero():
        return
    (Path(output_dir) / PICKLED_ARGUMENTS).unlink(missing_ok=True)
    (Path(output_dir) / ARGUMENTS_FILE).write_text(trainer.args.to_json_string() + "\n", encoding="utf-8")
    if processing_class is not None:
        processing_class.save_pretrained(str(output_dir))
    if getattr(trainer.model.config, "model_type", None) == "signllm":  # loadable without the package, too
        save_remote_pipeline(output_dir)


def write_metrics(output_dir: str | Path, metrics: dict, dataset: str | os.PathLike | None = None) -> Path:
    """``output_dir/metrics.json``: the run's metrics, for people and for the model card, which is (re)written
    beside them when ``output_dir`` holds a saved model (``dataset``: the training corpus, if not already on it)."""
    path = Path(output_dir) / METRICS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if (Path(output_dir) / "config.json").is_file():
        try:
            write_model_card(output_dir, dataset=dataset)
        except (OSError, ValueError) as error:  # the model is saved; a card that fails must not lose the run
            logger.warning("%s: the model card was not written (%s)", output_dir, error)
    return path


def train_model(
    model,
    args,
    train_dataset,
    data_collator,
    processing_class=None,
    *,
    trainer_class=Trainer,
    eval_dataset=None,
    seconds: float | None = None,
    progress: bool = True,
    callbacks=(),
    resume_from_checkpoint: str | None = None,
    on_trainer=None,
    save: bool = True,
    dataset: str | os.PathLike | None = None,
) -> tuple[Trainer, dict]:
    """Train ``model`` with ``trainer_class`` and return ``(trainer, metrics)``.

    ``seconds`` bounds the training time (with a progress bar of it when ``progress``); ``on_trainer`` is called
    with the built trainer before training starts (to hook evaluation in, for instance). After training the model is
    evaluated on ``eval_dataset`` (when given) and, with ``save``, written to ``args.output_dir`` with
    ``processing_class``, ``training_args.json``, ``metrics.json`` and a model card (``README.md``, naming
    ``dataset``, the training corpus) by the main process only; the others wait for it, so they all leave together.
    """
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        data_collator=data_collator,
        processing_class=processing_class,
        callbacks=[StopAfter(seconds, progress=progress), *callbacks],
    )
    if args.disable_tqdm:  # not the Trainer's bar: no printed dicts either
        trainer.remove_callback(PrinterCallback)
        if not (progress and seconds is not None):  # and no bar of the time budget: a line per log instead
            trainer.add_callback(LogLines())
    if on_trainer is not None:
        on_trainer(trainer)
    result = trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    metrics = dict(result.metrics)
    if eval_dataset is not None:
        metrics.update(trainer.evaluate())
    if save:
        save_final_model(trainer, args.output_dir, processing_class)
        if trainer.is_world_process_zero():
            write_metrics(args.output_dir, metrics, dataset=dataset)
        trainer.accelerator.wait_for_everyone()
    return trainer, metrics
