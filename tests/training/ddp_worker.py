"""Run by test_trainer.py under `torchrun --nproc_per_node 2`: a few steps of RL + PLC, then each rank saves what it
ended with (parameters and the PLC state) for the test to compare."""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from signllm_hf.trainer import SignLLMTrainer  # noqa: E402
from tests.training.helpers import tiny_args, tiny_data, tiny_model  # noqa: E402

out = Path(sys.argv[1])
train, _, tokenizer = tiny_data()
model = tiny_model(train, tokenizer)
args = tiny_args(out, max_steps=6, loss_mode="rl", plc=True, plc_eta=0.7, dataloader_drop_last=True)
trainer = SignLLMTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
trainer.train()
rank = trainer.args.process_index
state = {name: tensor.detach().cpu() for name, tensor in trainer.model.state_dict().items()}
torch.save(state, out / f"params-rank{rank}.pt")
np.save(out / f"plc-rank{rank}.npy", trainer.plc_sampler.rewards)
(out / f"world-rank{rank}.txt").write_text(str(trainer.args.world_size))
