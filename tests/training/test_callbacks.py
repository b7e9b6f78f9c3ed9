"""The time budget (`StopAfter`): where it stops a run, and the learning-rate decay that follows it."""

import itertools
import math

import pytest
import torch
from torch import nn
from transformers import Trainer, TrainingArguments, get_scheduler

from signllm_hf.training.callbacks import StopAfter, follow_time_budget
from signllm_hf.training.scaffold import code_arguments


class _Line(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Linear(2, 1)

    def forward(self, x, labels):
        return {"loss": ((self.weight(x).squeeze(-1) - labels) ** 2).mean()}


def _learning_rates(tmp_path, schedule: str, seconds: float) -> tuple[list[float], int]:
    """The learning rate after each step of a run bounded by ``seconds`` on a clock that ticks one second per step."""
    torch.manual_seed(0)
    data = [{"x": torch.randn(2), "labels": torch.randn(())} for _ in range(64)]
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=1000,
        learning_rate=0.01,
        lr_scheduler_type=schedule,
        warmup_steps=0,
        per_device_train_batch_size=4,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
    )
    ticks = itertools.count()
    trainer = Trainer(
        model=_Line(), args=args, train_dataset=data, callbacks=[StopAfter(seconds, clock=lambda: next(ticks))]
    )
    trainer.train()
    rates = [log["learning_rate"] for log in trainer.state.log_history if "learning_rate" in log]
    return rates, trainer.state.global_step


def test_a_linear_decay_ends_with_the_time_budget(tmp_path):
    rates, steps = _learning_rates(tmp_path, "linear", seconds=10)
    assert steps == 11  # 11 ticks > 10 seconds
    # Over max_steps=1000 the rate would still be above 0.0098; over the budget it has reached about 0 at its end.
    assert rates[0] > 0.009 and rates[-1] < 0.001
    assert all(later < earlier for earlier, later in zip(rates[1:], rates[2:]))
    # The rate of step 7 is set after step 6, when the clock last read 5 of the 10 seconds (it is read after the
    # schedule's update): 6 steps in half the time, the run is expected to end at step 12, half of the decay left.
    assert rates[6] == pytest.approx(0.01 * (12 - 6) / 12, rel=1e-6)


def test_a_constant_schedule_stays_constant_under_a_budget(tmp_path):
    rates, steps = _learning_rates(tmp_path, "constant", seconds=10)
    assert steps == 11 and rates == [pytest.approx(0.01)] * len(rates)


def test_warm_up_stays_counted_in_steps():
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    schedule = get_scheduler("cosine", optimizer, num_warmup_steps=10, num_training_steps=100)
    assert follow_time_budget(schedule, lambda: 0.5)
    assert schedule.lr_lambdas[0](5) == pytest.approx(0.5)  # warm-up: 5 of 10 steps, whatever the clock says
    # After 40 steps in half the time the run ends at step 80: a cosine half-way through its decay.
    assert schedule.lr_lambdas[0](40) == pytest.approx(0.5 * (1 + math.cos(math.pi * 30 / 70)))
    # Steps bound the run when they end it first (the clock says it would last 400 steps): the plain schedule.
    schedule = get_scheduler("cosine", optimizer, num_warmup_steps=10, num_training_steps=100)
    assert follow_time_budget(schedule, lambda: 0.1)
    assert schedule.lr_lambdas[0](40) == pytest.approx(0.75)
    # Warmup-stable-decay keeps its decay's share (here the last fifth of what follows the warm-up).
    wsd = get_scheduler(
        "warmup_stable_decay",
        optimizer,
        num_warmup_steps=10,
        num_training_steps=1010,
        scheduler_specific_kwargs={"num_decay_steps": 200},
    )
    clock = {"share": 0.5}
    assert follow_time_budget(wsd, lambda: clock["share"])
    assert wsd.lr_lambdas[0](5) == pytest.approx(0.5)  # warm-up
    # A run of 110 steps (55 steps in half the time, and so on): stable to step 90, then a cosine decay of 20 steps.
    for step, rate in [(55, 1.0), (89, 1.0), (100, 0.5), (105, 0.5 * (1 + math.cos(math.pi * 0.75)))]:
        clock["share"] = step / 110
        assert wsd.lr_lambdas[0](step) == pytest.approx(rate), step
    constant = get_scheduler("constant_with_warmup", optimizer, num_warmup_steps=10)
    assert not follow_time_budget(constant, lambda: 0.5)


def _schedule_of(args):
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    return get_scheduler(
        args.lr_scheduler_type,
        optimizer,
        num_warmup_steps=args.warmup_steps,
        num_training_steps=args.max_steps,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )


def test_code_trained_models_decay_over_their_budgets_last_fifth(tmp_path):
    common = {"max_steps": 1000, "batch_size": 2, "learning_rate": 1.0}
    schedule = _schedule_of(code_arguments(TrainingArguments, str(tmp_path), seconds=60, **common))
    clock = {"share": 0.5}
    assert follow_time_budget(schedule, lambda: clock["share"])
    # A run of 400 steps (200 in half the time, and so on): 50 of warm-up, then of the 350 left, 276 constant and 74
    # (a fifth) of decay, half-way down at step 363.
    for step, rate in [(200, 1.0), (325, 1.0), (363, 0.5)]:
        clock["share"] = step / 400
        assert schedule.lr_lambdas[0](step) == pytest.approx(rate), step
    stepped = _schedule_of(code_arguments(TrainingArguments, str(tmp_path), **common))
    assert stepped.lr_lambdas[0](550) == pytest.approx((1000 - 550) / (1000 - 50))  # linear over all the steps
    # A caller's own schedule does not inherit the default's arguments.
    constant = code_arguments(
        TrainingArguments, str(tmp_path), seconds=60, lr_scheduler_type="constant_with_warmup", **common
    )
    assert _schedule_of(constant).lr_lambdas[0](900) == 1.0
