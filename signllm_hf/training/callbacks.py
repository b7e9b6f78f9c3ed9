"""Trainer callbacks shared by every model of the library.

:class:`StopAfter` ends a run after a wall-clock budget (the quickstart, the ablation, the judges) and draws that
budget as the progress bar; the clock is process 0's, broadcast, so all processes stop at the same step. A decaying
learning-rate schedule (``linear``, ``cosine``, ...) follows the budget too: it ends when the time does.
:class:`LogLines` stands in for the progress bars where there are none (a log file): one line per logging step.

Example:
    >>> from signllm_hf.training.callbacks import StopAfter
    >>> StopAfter(seconds=60).seconds
    60
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

import torch
from tqdm.auto import tqdm
from transformers import TrainerCallback

progress_logger = logging.getLogger("signllm_hf.training.progress")  # the signllm command shows its INFO lines


def on_every_process(value: float, args) -> float:
    """``value`` of process 0 on every process: clocks differ between processes, and one that stopped a step before
    the others would leave them waiting in the gradient all-reduce (or, with a schedule that follows the clock, would
    step with another learning rate)."""
    if args.world_size <= 1 or not torch.distributed.is_initialized():
        return value
    shared = torch.tensor([float(value)], dtype=torch.float64, device=args.device)
    torch.distributed.broadcast(shared, src=0)
    return float(shared.item())


def _stretched(keywords: dict, length: int) -> dict:
    """A schedule's step counts for a run of ``length`` steps, warm-up kept: ``num_training_steps`` is the length;
    warmup-stable-decay keeps its decay's share of what follows the warm-up."""
    if "num_training_steps" in keywords:
        return keywords | {"num_training_steps": length}
    warmup, stable, decay = (keywords[k] for k in ("num_warmup_steps", "num_stable_steps", "num_decay_steps"))
    after_warmup = max(length - warmup, 1)
    decay = round(decay * after_warmup / max(stable + decay, 1))
    return keywords | {"num_stable_steps": after_warmup - decay, "num_decay_steps": decay}


def _planned_length(keywords: dict) -> int | None:
    if "num_training_steps" in keywords:
        return keywords["num_training_steps"]
    if {"num_warmup_steps", "num_stable_steps", "num_decay_steps"} <= keywords.keys():
        return keywords["num_warmup_steps"] + keywords["num_stable_steps"] + keywords["num_decay_steps"]
    return None


def follow_time_budget(scheduler, elapsed_share: Callable[[], float], first_step: int = 0) -> bool:
    """Make ``scheduler`` (a transformers schedule: a ``LambdaLR`` of ``functools.partial`` lambdas, perhaps inside
    accelerate's wrapper) run over a time budget as well as over its steps: at step ``s`` with a share ``f`` of the
    budget spent, the run is expected to end at step ``first_step + (s - first_step) / f``, and the schedule is
    stretched to that length (its own when that is sooner). A linear schedule thus reaches 0 when the time is up;
    ``warmup_stable_decay`` decays over the same share of the run as of its planned steps; warm-up stays counted in
    steps. Returns whether there was anything to follow (False for constant schedules and ones of other shapes).

    >>> from torch import nn, optim
    >>> from transformers import get_scheduler
    >>> optimizer = optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    >>> schedule = get_scheduler("linear", optimizer, num_warmup_steps=0, num_training_steps=1_000_000)
    >>> follow_time_budget(schedule, lambda: 0.75)  # 100 steps in 3/4 of the time: the run ends at step 133
    True
    >>> round(schedule.lr_lambdas[0](100), 3)
    0.248
    """
    inner = getattr(scheduler, "scheduler", scheduler)  # accelerate's AcceleratedScheduler holds the torch one
    schedules = getattr(inner, "lr_lambdas", None)
    if not schedules or not all(isinstance(f, functools.partial) for f in schedules):
        return False
    if all(_planned_length(f.keywords) is None for f in schedules):
        return False

    def following(schedule: functools.partial):
        planned = _planned_length(schedule.keywords)
        if planned is None:
            return schedule

        def factor(step: int) -> float:
            share = elapsed_share()
            expected = planned if share <= 0 else first_step + (step - first_step) / share
            length = min(planned, max(step + 1, round(expected)))
            return schedule.func(step, **_stretched(schedule.keywords, length))

        return factor

    inner.lr_lambdas = [following(f) for f in schedules]
    return True


class StopAfter(TrainerCallback):
    """Stop training after ``seconds`` of wall-clock time (None: no limit).

    With ``progress`` it shows a bar of the time budget (the step count of such runs means nothing in advance)
    with the step and the latest loss; the scaffold then turns the Trainer's own bar off, so only this one is drawn.
    A learning-rate schedule that decays to ``max_steps`` (``linear``, ``cosine``, ``polynomial``,
    ``warmup_stable_decay``, ...) decays over the budget instead when the budget ends the run first
    (:func:`follow_time_budget`): a time-bounded run sets ``max_steps`` to any large number, which a plain linear
    decay would never approach. A resumed run's budget, and so its remaining decay, counts from the resume.
    ``clock`` (seconds) is for tests.
    """

    def __init__(self, seconds: float | None, progress: bool = False, clock: Callable[[], float] = time.perf_counter):
        self.seconds, self.progress, self.clock = seconds, progress, clock
        self.started, self.bar, self.elapsed = None, None, 0.0

    def elapsed_share(self) -> float:
        """The share of the budget spent at the end of the last step (process 0's clock), 0 without a budget."""
        return min(self.elapsed / self.seconds, 1.0) if self.seconds else 0.0

    def on_train_begin(self, args, state, control, lr_scheduler=None, **kwargs):
        self.started, self.elapsed = self.clock(), 0.0
        if self.seconds is not None and lr_scheduler is not None:
            follow_time_budget(lr_scheduler, self.elapsed_share, first_step=state.global_step)
        if self.progress and self.seconds is not None and state.is_world_process_zero:
            self.bar = tqdm(total=round(self.seconds), unit="s", desc="training", dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.seconds is None:
            return
        self.elapsed = on_every_process(self.clock() - self.started, args)
        if self.bar is not None:
            self.bar.update(min(round(self.elapsed), self.bar.total) - self.bar.n)
            self.bar.set_postfix(step=state.global_step, refresh=False)
        if self.elapsed > self.seconds:
            control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is not None and logs and "loss" in logs:
            self.bar.set_postfix(step=state.global_step, loss=f"{float(logs['loss']):.4f}")

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class LogLines(TrainerCallback):
    """Without progress bars, each of the Trainer's logs as one line through ``logging`` (the logger
    ``signllm_hf.training.progress``, at INFO), e.g. ``step 40/200: loss 0.1234, grad_norm 1.5, learning_rate
    0.001, epoch 2``, instead of the dict that transformers' ``PrinterCallback`` prints to stdout.

    >>> LogLines.format_line(40, 200, {"loss": 0.12345678, "learning_rate": 1e-3, "epoch": 2.0})
    'step 40/200: loss 0.1235, learning_rate 0.001, epoch 2'
    """

    @staticmethod
    def format_line(step: int, max_steps: int, logs: dict) -> str:
        values = ", ".join(
            f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}" for name, value in logs.items()
        )
        return f"step {step}/{max_steps}: {values}"

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            progress_logger.info(self.format_line(state.global_step, state.max_steps, logs))
