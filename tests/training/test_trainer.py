import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import TrainerCallback

from signllm_hf.training.arguments import SignLLMTrainingArguments
from signllm_hf.training.losses import returns, rl_loss, weighted_mean_loss
from signllm_hf.training.plc import PriorityLearningChannelSampler
from signllm_hf.training.trainer import SignLLMTrainer
from tests.training.helpers import tiny_args, tiny_data, tiny_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data():
    return tiny_data()


# -- the RL loss ------------------------------------------------------------------------------------------------


def test_rl_loss_is_masked_mse_with_unit_discount_and_weights(data):
    train, _, tokenizer = data
    model = tiny_model(train, tokenizer, dropout=0.0).train()
    from signllm_hf.data import SignLLMDataCollator

    batch = SignLLMDataCollator(tokenizer=tokenizer)([train[i] for i in range(4)])
    outputs = model(**batch)
    mask = batch["frame_mask"]
    assert rl_loss(outputs.frame_errors, mask).item() == pytest.approx(outputs.loss.item(), rel=1e-6)
    assert weighted_mean_loss(outputs.frame_errors, mask).item() == pytest.approx(outputs.loss.item(), rel=1e-6)


def test_rl_loss_differs_as_defined():
    errors = torch.tensor([[0.2, 0.4, 0.6], [1.0, 1.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    # G_0 = -(0.2 + 0.5 * 0.4 + 0.25 * 0.6) / 3 = -0.55 / 3 ; G_1 = -(1 + 0.5) / 2 = -0.75
    torch.testing.assert_close(returns(errors, mask, 0.5), torch.tensor([-0.55 / 3, -0.75]))
    # loss = -(w_0 T_0 G_0 + w_1 T_1 G_1) / (T_0 + T_1) with w = (2, 0.5)
    expected = -(2 * 3 * (-0.55 / 3) + 0.5 * 2 * (-0.75)) / 5
    assert rl_loss(errors, mask, 0.5, torch.tensor([2.0, 0.5])).item() == pytest.approx(expected)
    assert rl_loss(errors, mask, 0.5).item() != pytest.approx(rl_loss(errors, mask, 1.0).item())


# -- the Priority Learning Channel -------------------------------------------------------------------------------


def test_plc_probabilities_follow_the_formula_and_shift_to_errors():
    languages = ["ase"] * 6
    sampler = PriorityLearningChannelSampler(languages, batch_size=2, eta=0.5, seed=0)
    np.testing.assert_allclose(sampler.probabilities(), 1 / 6)
    errors = np.array([0.9, 0.1, 0.3, 0.05, 0.6, 0.2])
    sampler.update(range(6), -errors)
    expected = (errors + 1e-3) ** 0.5 / ((errors + 1e-3) ** 0.5).sum()
    np.testing.assert_allclose(sampler.probabilities(), expected)
    draws = np.array(list(sampler) + [i for epoch in range(1, 200) for i in (sampler.set_epoch(epoch) or sampler)])
    frequencies = np.bincount(draws, minlength=6) / len(draws)
    np.testing.assert_allclose(frequencies, expected, atol=0.02)  # the stream follows P
    assert frequencies[0] > 2 * frequencies[3]
    rank = PriorityLearningChannelSampler(languages, 2, priority="rank")
    rank.update(range(6), -errors)
    np.testing.assert_allclose(rank.priorities()[[0, 4, 2]], [1, 1 / 2, 1 / 3])
    easy = PriorityLearningChannelSampler(languages, 2, priority="reward")
    easy.update(range(6), -errors)
    assert easy.probabilities()[3] > easy.probabilities()[0]  # "reward": the easiest clip first


def test_plc_importance_weights_are_the_prioritised_replay_correction():
    # Priorities p = |r| + eps = (0.901, 0.101, 0.301, 0.501); eta = 1: P = p / 1.804. The weight (N P_i)^-beta divided
    # by its maximum (the least likely clip's) is (p_min / p_i)^beta: rare clips count fully, frequent ones less.
    sampler = PriorityLearningChannelSampler(["ase"] * 4, batch_size=2, eta=1.0, seed=0)
    np.testing.assert_array_equal(sampler.importance_weights([0, 1, 2, 3], beta=0.5), 1.0)  # all equally likely
    sampler.update(range(4), [-0.9, -0.1, -0.3, -0.5])
    list(sampler)  # an epoch drawn with these priorities
    weights = sampler.importance_weights([2, 0, 1, 3], beta=0.5)
    expected = [(0.101 / 0.301) ** 0.5, (0.101 / 0.901) ** 0.5, 1.0, (0.101 / 0.501) ** 0.5]
    np.testing.assert_allclose(weights, expected, rtol=1e-12)
    np.testing.assert_allclose(sampler.importance_weights([0], beta=1.0), [0.101 / 0.901], rtol=1e-12)
    # Rewards seen after the draw do not change the weights of the clips drawn in this epoch.
    sampler.update([1], [-5.0])
    np.testing.assert_allclose(sampler.importance_weights([2, 0, 1, 3], beta=0.5), expected, rtol=1e-12)
    sharper = PriorityLearningChannelSampler(["ase"] * 4, batch_size=2, eta=2.0, seed=0)
    sharper.update(range(4), [-0.9, -0.1, -0.3, -0.5])
    list(sharper)
    np.testing.assert_allclose(sharper.importance_weights([0], beta=0.5), [0.101 / 0.901], rtol=1e-12)
    np.testing.assert_array_equal(sampler.importance_weights([0, 1], beta=0.0), 1.0)


def test_plc_stream_is_deterministic_and_language_homogeneous():
    languages = ["ase"] * 5 + ["gsg"] * 7
    make = lambda: PriorityLearningChannelSampler(languages, batch_size=3, eta=1.0, seed=4)  # noqa: E731
    first, second = make(), make()
    first.update([0, 7], [-2.0, -0.01])
    second.update([0, 7], [-2.0, -0.01])
    stream = list(first)
    assert stream == list(second) and len(stream) == len(first)
    for start in range(0, len(stream), 3):
        assert len({languages[i] for i in stream[start : start + 3]}) == 1
    first.set_epoch(1)
    assert list(first) != stream
    uniform = PriorityLearningChannelSampler(languages, batch_size=3, uniform=True, seed=4)
    assert sorted(set(uniform)) == list(range(12))  # a full pass


def test_plc_resume_redraws_the_same_epoch():
    sampler = PriorityLearningChannelSampler(["ase"] * 8, batch_size=2, eta=1.0, seed=1)
    sampler.update(range(8), -np.linspace(0.1, 1, 8))
    stream = list(sampler)
    sampler.update([0, 1], [-5.0, -5.0])  # observed mid-epoch, after the draw
    state = sampler.state_dict()
    restored = PriorityLearningChannelSampler(["ase"] * 8, batch_size=2, eta=1.0, seed=1)
    restored.load_state_dict(state)
    assert list(restored) == stream  # the interrupted epoch, exactly
    np.testing.assert_array_equal(restored.rewards, sampler.rewards)
    with pytest.raises(ValueError, match="covers 8 clips but the training set has 3"):
        PriorityLearningChannelSampler(["ase"] * 3, 2).load_state_dict(state)


def test_plc_resume_in_a_later_epoch_without_set_epoch():
    """Resuming mid-epoch under several processes, accelerate's batch skipping hides set_epoch from the sampler."""
    sampler = PriorityLearningChannelSampler(["ase"] * 8, batch_size=2, eta=1.0, seed=1)
    sampler.set_epoch(3)
    sampler.update(range(8), -np.linspace(0.1, 1, 8))
    stream = list(sampler)
    restored = PriorityLearningChannelSampler(["ase"] * 8, batch_size=2, eta=1.0, seed=1)
    restored.load_state_dict(sampler.state_dict())
    assert restored.epoch == 3 and list(restored) == stream


@pytest.mark.parametrize("uniform", [True, False])
def test_plc_language_rounds_keep_all_processes_on_one_language(uniform):
    languages = ["ase"] * 5 + ["gsg"] * 7 + ["tsm"] * 3
    sampler = PriorityLearningChannelSampler(languages, batch_size=2, seed=3, language_rounds=2, uniform=uniform)
    stream = list(sampler)
    batches = [stream[i : i + 2] for i in range(0, len(stream), 2)]
    assert len(batches) == sampler.batches_per_epoch == 10  # 3 + 4 + 2 batches, rounded up to runs of 2
    for run in range(0, len(batches), 2):  # accelerate deals batch 2k to process 0 and 2k + 1 to process 1
        assert len({languages[i] for batch in batches[run : run + 2] for i in batch}) == 1
    if uniform:
        assert set(stream) == set(range(15))  # still a full pass
    with pytest.raises(ValueError, match="`language_rounds` must be >= 1"):
        PriorityLearningChannelSampler(languages, batch_size=2, language_rounds=0)
    with pytest.raises(ValueError, match="`priority` must be one of"):
        PriorityLearningChannelSampler(languages, batch_size=2, priority="loss")


def test_compute_loss_uses_the_discount_and_the_importance_weights(data, tmp_path):
    train, _, tokenizer = data
    model = tiny_model(train, tokenizer, dropout=0.0).train()  # a deterministic forward pass
    args = tiny_args(tmp_path, loss_mode="rl", rl_discount=0.5, plc=True, plc_beta=0.5)
    trainer = SignLLMTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
    sampler = trainer._get_train_sampler()
    sampler.update(range(len(train)), -np.linspace(0.1, 2.0, len(train)))
    list(sampler)  # an epoch drawn with these priorities
    indices = [0, 3, 5, 9]
    batch = trainer.data_collator([trainer.train_dataset[i] for i in indices])
    assert batch["sample_index"].tolist() == indices
    # The weights for these priorities, by hand: p_i = |r_i| + eps, P_i = p_i / sum p (eta 1), (N P_i)^-0.5 / max.
    priorities = np.linspace(0.1, 2.0, len(train)) + 1e-3
    weights = (len(train) * priorities / priorities.sum()) ** -0.5
    weights = torch.tensor(weights[indices] / weights.max(), dtype=torch.float32)
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        outputs = model(**{k: v for k, v in batch.items() if k != "sample_index"})
    errors, mask = outputs.frame_errors, batch["frame_mask"]
    assert torch.isclose(loss, rl_loss(errors, mask, 0.5, weights), rtol=1e-5)
    assert not torch.isclose(loss, rl_loss(errors, mask, 1.0, weights), rtol=1e-3)  # the discount matters here
    assert not torch.isclose(loss, rl_loss(errors, mask, 0.5), rtol=1e-3)  # and so do the weights
    trainer.args.plc_importance_correction = False
    with torch.no_grad():
        assert torch.isclose(trainer.compute_loss(model, dict(batch)), rl_loss(errors, mask, 0.5), rtol=1e-5)


def test_mse_compute_loss_is_the_models_loss_with_every_term(data, tmp_path):
    train, _, tokenizer = data
    model = tiny_model(
        train, tokenizer, dropout=0.0, future_prediction=2, hand_loss_weight=1.0, velocity_loss_weight=1.0
    )
    trainer = SignLLMTrainer(
        model=model.train(), args=tiny_args(tmp_path), train_dataset=train, processing_class=tokenizer
    )
    batch = trainer.data_collator([train[i] for i in range(4)])
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        outputs = model(**{k: v for k, v in batch.items() if k != "sample_index"})
    assert min(float(outputs.future_loss), float(outputs.hand_loss), float(outputs.velocity_loss)) > 0
    assert float(loss) == pytest.approx(float(outputs.loss), rel=1e-6)  # frames + future + hands + velocity


# -- training ------------------------------------------------------------------------------------------------------


def _params(model):
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


def test_every_trainable_parameter_changes(data, tmp_path):
    train, dev, tokenizer = data
    model = tiny_model(train, tokenizer, future_prediction=2)
    before = _params(model)
    args = tiny_args(tmp_path, max_steps=12, loss_mode="rl", plc=True, eval_strategy="steps", eval_steps=12)
    trainer = SignLLMTrainer(model=model, args=args, train_dataset=train, eval_dataset=dev, processing_class=tokenizer)
    trainer.train()
    unchanged = [name for name, p in _params(model).items() if torch.equal(p, before[name])]
    assert unchanged == []
    metrics = trainer.evaluate()
    assert {"eval_loss", "eval_dtw", "eval_dtw_mje", "eval_length_error"} <= set(metrics)
    assert metrics["eval_dtw"] > 0 and np.isfinite(trainer.plc_sampler.rewards).sum() > 0


def test_noise_schedule_leaves_the_model_config_alone(data, tmp_path):
    train, _, tokenizer = data
    model = tiny_model(train, tokenizer, gaussian_noise=0.2)
    args = tiny_args(tmp_path, max_steps=4, gaussian_noise_schedule="linear")
    SignLLMTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer).train()
    assert model.config.gaussian_noise == 0.2  # what a saved model carries
    assert model.training_noise == pytest.approx(0.2 * (1 - 3 / 4))  # the 4th step's noise (3 of 4 steps done)


def test_gradient_accumulation_does_not_scale_the_logged_loss(data, tmp_path):
    train, _, tokenizer = data
    model = tiny_model(train, tokenizer, dropout=0.0)
    args = tiny_args(
        tmp_path, max_steps=2, learning_rate=0.0, gradient_accumulation_steps=4, logging_steps=1, eval_generate=False
    )
    trainer = SignLLMTrainer(
        model=model, args=args, train_dataset=train, eval_dataset=train, processing_class=tokenizer
    )
    trainer.train()
    logged = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    reference = trainer.evaluate()["eval_loss"]
    assert len(logged) == 2 and all(0.6 < loss / reference < 1.6 for loss in logged), (logged, reference)


def test_training_data_without_confidence(data, tmp_path):
    train, _, tokenizer = data
    assert "confidence" in train.column_names
    bare = train.remove_columns("confidence")
    model = tiny_model(bare, tokenizer)
    before = _params(model)
    args = tiny_args(tmp_path, max_steps=2, plc=True)
    SignLLMTrainer(model=model, args=args, train_dataset=bare, processing_class=tokenizer).train()
    assert any(not torch.equal(p, before[name]) for name, p in _params(model).items())


def test_trainer_argument_errors(data, tmp_path, monkeypatch):
    train, dev, tokenizer = data
    model = tiny_model(train, tokenizer)
    args = tiny_args(tmp_path)
    with pytest.raises(ValueError, match="pass processing_class"):
        SignLLMTrainer(model=model, args=args, train_dataset=train)
    with pytest.raises(ValueError, match="compute_metrics is not supported"):
        SignLLMTrainer(
            model=model,
            args=args,
            train_dataset=train,
            processing_class=tokenizer,
            compute_metrics=lambda prediction: {},
        )
    asl = tiny_model(train, tokenizer, languages=["ase"])
    asl_train = train.filter(lambda row: row["language"] == "ase")
    with pytest.raises(ValueError, match=r"the other dataset has language\(s\) \['gsg'\]"):
        SignLLMTrainer(
            model=asl,
            args=args,
            train_dataset=asl_train,
            eval_dataset={"same": asl_train, "other": dev},
            processing_class=tokenizer,
        )
    monkeypatch.chdir(tmp_path)
    trainer = SignLLMTrainer(model=model, train_dataset=train, processing_class=tokenizer)  # default arguments
    assert isinstance(trainer.args, SignLLMTrainingArguments) and trainer.args.loss_mode == "mse"


class StopAt(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def test_resume_reproduces_the_uninterrupted_run(data, tmp_path):
    train, _, tokenizer = data
    options = {
        "max_steps": 8,
        "save_strategy": "steps",
        "save_steps": 3,
        "loss_mode": "rl",
        "plc": True,
        "plc_eta": 0.8,
        "gaussian_noise": 0.05,
    }
    straight = tiny_model(train, tokenizer)
    SignLLMTrainer(
        model=straight, args=tiny_args(tmp_path / "a", **options), train_dataset=train, processing_class=tokenizer
    ).train()

    interrupted = tiny_model(train, tokenizer)
    trainer = SignLLMTrainer(
        model=interrupted,
        args=tiny_args(tmp_path / "b", **options),
        train_dataset=train,
        processing_class=tokenizer,
        callbacks=[StopAt(3)],
    )
    trainer.train()
    assert trainer.state.global_step == 3 and (tmp_path / "b" / "checkpoint-3" / "plc_state.npz").is_file()
    resumed = tiny_model(train, tokenizer, seed=123)  # weights come from the checkpoint
    trainer = SignLLMTrainer(
        model=resumed, args=tiny_args(tmp_path / "b", **options), train_dataset=train, processing_class=tokenizer
    )
    trainer.train(resume_from_checkpoint=True)
    assert trainer.state.global_step == 8
    for name, value in _params(straight).items():
        torch.testing.assert_close(_params(resumed)[name], value, atol=1e-6, rtol=0, msg=name)


def _run_two_processes(out_dir, port: int, *worker_args: str) -> None:
    """tests/training/ddp_worker.py under torchrun with two processes; a process that is stuck prints its threads'
    stacks to stderr and exits (the worker's STUCK_AFTER_SECONDS), which the failure shows."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port)]
    command += [str(ROOT / "tests" / "training" / "ddp_worker.py"), str(out_dir), *worker_args]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    result = subprocess.run(command, capture_output=True, text=True, timeout=400, env=env)
    assert result.returncode == 0, result.stderr[-12000:]


def test_two_processes_end_with_identical_parameters(tmp_path):
    _run_two_processes(tmp_path, 29517)
    assert (tmp_path / "world-rank0.txt").read_text() == "2"
    first, second = torch.load(tmp_path / "params-rank0.pt"), torch.load(tmp_path / "params-rank1.pt")
    for name, value in first.items():
        assert torch.equal(value, second[name]), name
    rewards = np.load(tmp_path / "plc-rank0.npy")
    np.testing.assert_array_equal(rewards, np.load(tmp_path / "plc-rank1.npy"))
    batches = [json.loads((tmp_path / f"batches-rank{rank}.json").read_text()) for rank in (0, 1)]
    assert len(batches[0]) == len(batches[1]) == 6
    for first_rank, second_rank in zip(*batches):  # every step: one language, the same on both processes
        assert len(set(first_rank["languages"]) | set(second_rank["languages"])) == 1
    for rank in (0, 1):  # the priorities hold the rewards of both processes' clips
        assert np.isfinite(rewards[[i for batch in batches[rank] for i in batch["indices"]]]).all()


def test_two_processes_draw_the_same_languages_by_priority_from_the_letter_string_stream(tmp_path):
    pytest.importorskip("spoken_to_signed")
    _run_two_processes(tmp_path, 29518, "stream")
    first, second = torch.load(tmp_path / "params-rank0.pt"), torch.load(tmp_path / "params-rank1.pt")
    for name, value in first.items():
        assert torch.equal(value, second[name]), name
    losses = [json.loads((tmp_path / f"priority-rank{rank}.json").read_text()) for rank in (0, 1)]
    assert losses[0] == losses[1] and set(losses[0]) == {"ase", "gsg"}  # updated from both processes' batches
    batches = [json.loads((tmp_path / f"batches-rank{rank}.json").read_text()) for rank in (0, 1)]
    assert len(batches[0]) == len(batches[1]) == 6
    for first_rank, second_rank in zip(*batches):  # one language per step on both, each process its own strings
        assert len(set(first_rank["languages"]) | set(second_rank["languages"])) == 1
        assert first_rank["input_ids"] != second_rank["input_ids"]


# -- bad input ----------------------------------------------------------------------------------------------------


def test_bad_input_is_refused_before_training(data, tmp_path):
    train, _, tokenizer = data
    model = tiny_model(train, tokenizer)
    args = tiny_args(tmp_path)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['pose'\]"):
        SignLLMTrainer(model=model, args=args, train_dataset=train.remove_columns("pose"), processing_class=tokenizer)
    with pytest.raises(ValueError, match="the train dataset is empty"):
        SignLLMTrainer(model=model, args=args, train_dataset=train.select([]), processing_class=tokenizer)
    other = tiny_model(train, tokenizer, languages=["ase"])
    with pytest.raises(ValueError, match=r"language\(s\) \['gsg'\] that the model lacks"):
        SignLLMTrainer(model=other, args=args, train_dataset=train, processing_class=tokenizer)
    with pytest.raises(ValueError, match=r"`plc_eta` must be > 0, got 0"):
        SignLLMTrainingArguments(output_dir=str(tmp_path), plc_eta=0)
    with pytest.raises(ValueError, match="`loss_mode` must be one of"):
        SignLLMTrainingArguments(output_dir=str(tmp_path), loss_mode="ce")
    with pytest.raises(TypeError, match="needs SignLLMTrainingArguments"):
        from transformers import TrainingArguments

        SignLLMTrainer(model=model, args=TrainingArguments(output_dir=str(tmp_path)), train_dataset=train)


def test_resuming_a_different_configuration_is_refused(data, tmp_path):
    train, _, tokenizer = data
    args = tiny_args(tmp_path, max_steps=2, save_strategy="steps", save_steps=2)
    SignLLMTrainer(
        model=tiny_model(train, tokenizer), args=args, train_dataset=train, processing_class=tokenizer
    ).train()
    wider = tiny_model(train, tokenizer, d_model=48, ffn_dim=96)
    trainer = SignLLMTrainer(
        model=wider, args=tiny_args(tmp_path, max_steps=4), train_dataset=train, processing_class=tokenizer
    )
    with pytest.raises(
        ValueError, match=r"checkpoint-2 was trained with another configuration: d_model: checkpoint 32"
    ):
        trainer.train(resume_from_checkpoint=True)
