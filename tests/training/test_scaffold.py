"""The end of a distributed run (`distributed_run`), the arguments every run needs, and what the saved model holds."""

import json
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing

from signllm_hf.training import run
from signllm_hf.training.scaffold import distributed_run


def _group(folder: Path, rank: int = 0, world_size: int = 1) -> None:
    dist.init_process_group("gloo", init_method=f"file://{folder / 'store'}", rank=rank, world_size=world_size)


def _two_processes(function, folder: Path) -> None:
    # Forked, not spawned: a spawned process imports the library again (tens of seconds on a busy 2-core machine).
    torch.multiprocessing.start_processes(function, args=(folder,), nprocs=2, join=True, start_method="fork")


def _end_of_a_run(rank: int, folder: Path) -> None:
    """One process of a two-process run whose main process writes the model after the last collective."""
    with distributed_run():
        _group(folder, rank, world_size=2)
        dist.all_reduce(torch.ones(1))  # the run's last collective
        if rank == 0:
            time.sleep(1.5)  # saving takes a while
            (folder / "model.safetensors").write_text("saved")
    seen = {"saw_the_model": (folder / "model.safetensors").is_file(), "group_left": dist.is_initialized()}
    (folder / f"rank{rank}.json").write_text(json.dumps(seen))


def test_every_process_waits_for_the_main_ones_writes_then_the_group_ends(tmp_path):
    _two_processes(_end_of_a_run, tmp_path)
    for rank in (0, 1):
        assert json.loads((tmp_path / f"rank{rank}.json").read_text()) == {"saw_the_model": True, "group_left": False}


def _one_fails(rank: int, folder: Path) -> None:
    """Process 0 fails while process 1 waits for it in an all-reduce."""
    started, outcome = time.monotonic(), "finished"
    try:
        with distributed_run():
            _group(folder, rank, world_size=2)
            if rank == 0:
                raise RuntimeError("out of memory")
            dist.all_reduce(torch.ones(1))
    except RuntimeError as error:
        outcome = "out of memory" if "out of memory" in str(error) else "peer gone"
    seen = {"outcome": outcome, "seconds": time.monotonic() - started, "group_left": dist.is_initialized()}
    (folder / f"rank{rank}.json").write_text(json.dumps(seen))


def test_when_one_process_fails_no_barrier_keeps_the_others_waiting(tmp_path):
    _two_processes(_one_fails, tmp_path)
    seen = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [s["outcome"] for s in seen] == ["out of memory", "peer gone"]
    assert not any(s["group_left"] for s in seen) and seen[1]["seconds"] < 60  # not gloo's 30-minute timeout


def test_the_group_ends_on_an_error_too(tmp_path):
    with pytest.raises(RuntimeError, match="out of memory"), distributed_run():
        _group(tmp_path)
        raise RuntimeError("out of memory")
    assert not dist.is_initialized()


def test_a_group_set_up_before_the_run_is_left_to_its_creator(tmp_path):
    _group(tmp_path)
    try:
        with distributed_run():
            dist.barrier()
        assert dist.is_initialized()
    finally:
        dist.destroy_process_group()


def test_signllm_train_ends_the_group_its_arguments_set_up(tmp_path, monkeypatch):
    """Under `accelerate launch`, building the training arguments sets the process group up (accelerate's state);
    `signllm train` / `recipes/train.py` must end it, not leave it to the interpreter's exit."""
    seen = {}

    def parse_arguments(argv):
        _group(tmp_path)  # what SignLLMTrainingArguments.__post_init__ does in a launched process
        return (argv,)

    def train(argv):
        seen["during"] = dist.is_initialized()
        return {"train_loss": 1.0}

    monkeypatch.setattr(run, "parse_arguments", parse_arguments)
    monkeypatch.setattr(run, "train", train)
    assert run.main(["--output_dir", str(tmp_path)]) == {"train_loss": 1.0}
    assert seen == {"during": True} and not dist.is_initialized()
