"""Trainer callbacks shared by every model of the library.

:class:`StopAfter` ends a run after a wall-clock budget (the quickstart, the ablation, the judges) and draws that
budget as the progress bar; the decision is process 0's, broadcast, so all processes stop at the same step.
:class:`LogLines` stands in for the progress bars where there are none (a log file): one line per logging step.

Example:
    >>> from signllm_hf.training.callbacks import StopAfter
    >>> StopAfter(seconds=60).seconds
    60
"""

from __future__ import annotations

import logging
import time

import torch
from tqdm.auto import tqdm
from transformers import TrainerCallback

progress_logger = logging.getLogger("signllm_hf.training.progress")  # the signllm command shows its INFO lines


def on_every_process(decision: bool, args) -> bool:
    """``decision`` of process 0 on every process: clocks differ between processes, and one that stopped a step
    before the others would leave them waiting in the gradient all-reduce."""
    if args.world_size <= 1 or not torch.distributed.is_initialized():
        return decision
    flag = torch.tensor([float(decision)], device=args.device)
    torch.distributed.broadcast(flag, src=0)
    return bool(flag.item())


class StopAfter(TrainerCallback):
    """Stop training after ``seconds`` of wall-clock time (None: no limit).

    With ``progress`` it shows a bar of the time budget (the step count of such runs means nothing in advance)
    with the step and the latest loss; the scaffold then turns the Trainer's own bar off, so only this one is drawn.
    """

    def __init__(self, seconds: float | None, progress: bool = False):
        self.seconds, self.progress = seconds, progress
        self.started, self.bar = None, None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()
        if self.progress and self.seconds is not None and state.is_world_process_zero:
            self.bar = tqdm(total=round(self.seconds), unit="s", desc="training", dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
        elapsed = time.perf_counter() - self.started
        if self.bar is not None:
            self.bar.update(min(round(elapsed), self.bar.total) - self.bar.n)
            self.bar.set_postfix(step=state.global_step, refresh=False)
        if self.seconds is not None and on_every_process(elapsed > self.seconds, args):
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
