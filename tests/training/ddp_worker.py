"""Run by test_trainer.py under `torchrun --nproc_per_node 2`: a few steps of RL + PLC, then each rank saves what it
ended with (parameters, the PLC state, the batches it trained on) for the test to compare.

    python -m torch.distributed.run --nproc_per_node 2 tests/training/ddp_worker.py OUT_DIR
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from signllm_hf.training.scaffold import distributed_run  # noqa: E402
from signllm_hf.training.trainer import SignLLMTrainer  # noqa: E402
from tests.training.helpers import tiny_args, tiny_data, tiny_model  # noqa: E402


class RecordingTrainer(SignLLMTrainer):
    """Keeps the languages and dataset rows of every training batch this process saw."""

    batches: list = []

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            self.batches.append({"languages": list(inputs["language"]), "indices": inputs["sample_index"].tolist()})
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


def main():
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit("usage: ddp_worker.py OUT_DIR (an existing folder)")
    out = Path(sys.argv[1])
    with distributed_run():  # the process group that the arguments set up ends here, not at the interpreter's exit
        train, _, tokenizer = tiny_data()
        model = tiny_model(train, tokenizer)
        args = tiny_args(out, max_steps=6, loss_mode="rl", plc=True, plc_eta=0.7, dataloader_drop_last=True)
        trainer = RecordingTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
        trainer.train()
        rank = trainer.args.process_index
        state = {name: tensor.detach().cpu() for name, tensor in trainer.model.state_dict().items()}
        torch.save(state, out / f"params-rank{rank}.pt")
        np.save(out / f"plc-rank{rank}.npy", trainer.plc_sampler.rewards)
        (out / f"world-rank{rank}.txt").write_text(str(trainer.args.world_size))
        (out / f"batches-rank{rank}.json").write_text(json.dumps(trainer.batches))


# Guarded: pytest --doctest-modules imports every module under tests/ while collecting.
if __name__ == "__main__":
    main()
