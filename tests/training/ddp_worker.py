"""Run by test_trainer.py under `torchrun --nproc_per_node 2`: a few steps of RL + PLC, then each rank saves what it
ended with (parameters, the PLC state, the batches it trained on) for the test to compare. With ``stream``: a few
steps on the letter-string stream drawn by language priority, saving the running losses instead of the PLC state.

    python -m torch.distributed.run --nproc_per_node 2 tests/training/ddp_worker.py OUT_DIR [stream]
"""

import faulthandler
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
            indices = inputs["sample_index"].tolist() if "sample_index" in inputs else []
            ids = inputs["input_ids"].tolist()
            self.batches.append({"languages": list(inputs["language"]), "indices": indices, "input_ids": ids})
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


# A process still running after this long is stuck (a run takes 10-40 s): it prints every thread's stack to stderr and
# exits, so a stuck run fails the test with the place it stopped instead of running into the test's timeout unseen.
STUCK_AFTER_SECONDS = 240


def main():
    faulthandler.dump_traceback_later(STUCK_AFTER_SECONDS, exit=True)
    if len(sys.argv) not in (2, 3) or not Path(sys.argv[1]).is_dir() or sys.argv[2:] not in ([], ["stream"]):
        sys.exit("usage: ddp_worker.py OUT_DIR [stream] (OUT_DIR: an existing folder)")
    out, stream = Path(sys.argv[1]), sys.argv[2:] == ["stream"]
    with distributed_run():  # the process group that the arguments set up ends here, not at the interpreter's exit
        train, _, tokenizer = tiny_data()
        model = tiny_model(train, tokenizer)
        if stream:
            from signllm_hf.data.corpora.letter_strings import LetterStrings  # noqa: PLC0415 - needs the lexicon
            from signllm_hf.training.run import letter_string_stream  # noqa: PLC0415

            args = tiny_args(out, max_steps=6, language_priority=1.0)
            train = letter_string_stream(LetterStrings(languages=["ase", "gsg"], seed=0), args)
        else:
            args = tiny_args(out, max_steps=6, loss_mode="rl", plc=True, plc_eta=0.7, dataloader_drop_last=True)
        trainer = RecordingTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
        trainer.train()
        rank = trainer.args.process_index
        state = {name: tensor.detach().cpu() for name, tensor in trainer.model.state_dict().items()}
        torch.save(state, out / f"params-rank{rank}.pt")
        if stream:
            (out / f"priority-rank{rank}.json").write_text(json.dumps(trainer.language_priority.losses))
        else:
            np.save(out / f"plc-rank{rank}.npy", trainer.plc_sampler.rewards)
        (out / f"world-rank{rank}.txt").write_text(str(trainer.args.world_size))
        (out / f"batches-rank{rank}.json").write_text(json.dumps(trainer.batches))


# Guarded: pytest --doctest-modules imports every module under tests/ while collecting.
if __name__ == "__main__":
    main()
