"""SignLLMTrainer: the Trainer with SignLLM's losses (MSE, L1, the RL loss), the Priority Learning Channel, and
evaluation by generation (DTW).

The losses are in ``signllm_hf.training.losses`` (the RL loss: the paper's Eq. 3), the sampler in
``signllm_hf.training.plc``.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset
from transformers import Trainer
from transformers.trainer_utils import EvalLoopOutput

from ..configuration_signllm import SignLLMConfig
from ..data.collator import SignLLMDataCollator
from ..data.dataset import add_column, check_pose_columns
from ..metrics.dtw import clip_scores
from .arguments import SignLLMTrainingArguments
from .checkpoints import PLC_STATE, resolve_checkpoint
from .losses import returns, rl_loss, weighted_mean_loss
from .plc import PriorityLearningChannelSampler

logger = logging.getLogger(__name__)
# Config fields a checkpoint must share with the model it resumes into.
ARCHITECTURE_FIELDS = (*SignLLMConfig.architecture_fields, "mode", "languages")


def checkpoint_to_resume(args: SignLLMTrainingArguments, resume) -> str | None:
    """The checkpoint folder a `SignLLMTrainer` run resumes from, for ``resume`` = None, a boolean, ``"true"`` /
    ``"last"`` (the newest complete one of ``output_dir``) or a folder (which must be complete). A complete
    `SignLLMTrainer` checkpoint also holds the sampler state (``plc_state.npz``), unless the run saves the model only.
    """
    whole = not args.save_only_model
    return resolve_checkpoint(resume, args.output_dir, optimizer=whole, extra_files=(PLC_STATE,) if whole else ())


class SignLLMTrainer(Trainer):
    """[`Trainer`] for [`SignLLMForPoseGeneration`] with [`SignLLMTrainingArguments`].

    Checks before training: the datasets have the needed columns and rows, every language in them is one of the
    model's, and a checkpoint to resume from has the model's architecture. The default collator is
    [`SignLLMDataCollator`] over the ``processing_class`` tokenizer.
    """

    def __init__(
        self,
        model=None,
        args=None,
        data_collator=None,
        train_dataset=None,
        eval_dataset=None,
        processing_class=None,
        **kwargs,
    ):
        if args is None:
            args = SignLLMTrainingArguments(output_dir="trainer_output")
        if not isinstance(args, SignLLMTrainingArguments):
            raise TypeError("SignLLMTrainer needs SignLLMTrainingArguments (it adds the loss mode and PLC)")
        if model is None:
            raise ValueError("SignLLMTrainer needs a model (a SignLLMForPoseGeneration)")
        if kwargs.get("compute_metrics") is not None:
            raise ValueError(
                "SignLLMTrainer evaluates by generating poses (DTW, DTW-MJE, length error); compute_metrics is not "
                "supported: score generated poses with signllm_hf.evaluation.evaluate_model instead"
            )
        if data_collator is None:
            if processing_class is None:
                raise ValueError("pass processing_class=<the text tokenizer> (or a data_collator) to SignLLMTrainer")
            data_collator = SignLLMDataCollator(
                tokenizer=processing_class, max_text_length=model.config.max_text_length
            )
        evaluation_sets = eval_dataset.items() if isinstance(eval_dataset, dict) else [("eval", eval_dataset)]
        streamed = isinstance(train_dataset, IterableDataset)  # e.g. letter strings spelled on the fly
        if streamed and args.plc:
            raise ValueError("PLC draws clips of a dataset by priority: it needs a dataset of clips, not a stream")
        for name, dataset in [("train", None if streamed else train_dataset), *evaluation_sets]:
            if dataset is not None:
                self._check_dataset(dataset, name, model)
        if not streamed and train_dataset is not None and "sample_index" not in train_dataset.column_names:
            train_dataset = add_column(train_dataset, "sample_index", list(range(len(train_dataset))))  # for PLC
        super().__init__(
            model=model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            **kwargs,
        )
        if self.args.eval_generate and self.is_fsdp_enabled:  # generate() would read sharded weights, rank by rank
            logger.warning("FSDP: evaluation by generation is off; score the saved model with `signllm evaluate`")
            self.args.eval_generate = False
        self.plc_sampler: PriorityLearningChannelSampler | None = None
        # A letter-string stream drawn by language priority: updated here from the losses of the batches it gave.
        self.language_priority = getattr(train_dataset, "language_priority", None) if streamed else None
        if self.language_priority is not None and self.args.dataloader_num_workers > 0:
            raise ValueError(
                "--language_priority updates the letter-string stream from the training losses, which DataLoader "
                f"workers would not see: set --dataloader_num_workers 0 (got {self.args.dataloader_num_workers})"
            )
        self._resume_from: str | None = None
        self._base_noise = self.args.gaussian_noise  # None: the model config's own noise, as it is

    # -- checks --------------------------------------------------------------------------------------------------

    @staticmethod
    def _check_dataset(dataset, name: str, model) -> None:
        check_pose_columns(dataset, needed=("language", "text", "pose"))
        if len(dataset) == 0:
            raise ValueError(f"the {name} dataset is empty; give it some clips")
        missing = sorted(set(dataset["language"]) - set(model.config.languages))
        if missing:
            raise ValueError(
                f"the {name} dataset has language(s) {missing} that the model lacks (it has "
                f"{model.config.languages}); add them with model.add_language(...) or filter the dataset"
            )

    def _check_checkpoint(self, checkpoint: str) -> None:
        path = Path(checkpoint) / "config.json"
        if not path.is_file():
            return
        saved = SignLLMConfig.from_json_file(str(path)).to_dict()  # read as a config: old field names are mapped
        current = self.accelerator.unwrap_model(self.model).config.to_dict()
        differences = [
            f"{k}: checkpoint {saved.get(k)!r}, model {current.get(k)!r}"
            for k in ARCHITECTURE_FIELDS
            if saved.get(k) != current.get(k)
        ]
        for k in ("pose_mean", "pose_std"):  # the data statistics the weights were learned in
            if (saved.get(k) is None) != (current.get(k) is None) or (
                saved.get(k) is not None and not np.allclose(saved[k], current[k], rtol=1e-5, atol=1e-6)
            ):
                differences.append(f"{k}: the checkpoint was trained on data with other statistics")
        if differences:
            raise ValueError(f"{checkpoint} was trained with another configuration: " + "; ".join(differences))

    def train(self, resume_from_checkpoint=None, **kwargs):
        """`Trainer.train`; ``resume_from_checkpoint=True`` resumes from the newest *complete* checkpoint (one cut
        while being written is skipped, see ``signllm_hf.training.checkpoints``), a named one must be complete."""
        resume_from_checkpoint = checkpoint_to_resume(self.args, resume_from_checkpoint)
        if resume_from_checkpoint is not None:
            self._check_checkpoint(resume_from_checkpoint)
        self._resume_from = resume_from_checkpoint
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)

    # -- sampling ------------------------------------------------------------------------------------------------

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        args = self.args
        self.plc_sampler = PriorityLearningChannelSampler(
            dataset["language"],
            batch_size=self._train_batch_size,
            eta=args.plc_eta,
            priority=args.plc_priority,
            batches_per_epoch=args.plc_refresh_steps,
            seed=args.data_seed if args.data_seed is not None else args.seed,
            language_batches=args.language_batches,
            language_rounds=self.accelerator.num_processes,  # every process trains the same group in a step
            uniform=not args.plc,
        )
        if self._resume_from is not None and (Path(self._resume_from) / PLC_STATE).is_file():
            with np.load(Path(self._resume_from) / PLC_STATE) as saved:
                state = {name: saved[name] for name in saved.files}
            state["drawn_epoch"] = None if int(state["drawn_epoch"]) < 0 else int(state["drawn_epoch"])  # -1: none
            self.plc_sampler.load_state_dict(state)
        return self.plc_sampler

    def _save_rng_state(self, output_dir: str) -> None:
        super()._save_rng_state(output_dir)
        if self.plc_sampler is not None and self.args.should_save:
            state = self.plc_sampler.state_dict()
            drawn = -1 if state["drawn_epoch"] is None else state["drawn_epoch"]
            np.savez(
                os.path.join(output_dir, PLC_STATE),
                rewards=state["rewards"],
                drawn_epoch=drawn,
                drawn_priorities=state["drawn_priorities"],
            )

    # -- the loss ------------------------------------------------------------------------------------------------

    def _noise(self, config) -> float:
        base = config.gaussian_noise if self._base_noise is None else self._base_noise
        if self.args.gaussian_noise_schedule == "constant" or not self.state.max_steps:
            return base
        progress = min(self.state.global_step / self.state.max_steps, 1.0)
        if self.args.gaussian_noise_schedule == "linear":
            return base * (1 - progress)
        return base * 0.5 * (1 + math.cos(math.pi * progress))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        indices = inputs.pop("sample_index", None)
        core = self.accelerator.unwrap_model(model)
        core.training_noise = self._noise(core.config)  # not written to the config: saved models keep their own
        outputs = model(**inputs)
        frame_mask = inputs["frame_mask"].bool()
        if self.args.loss_mode == "l1":
            targets = core.normalized_targets(inputs["labels"], frame_mask)
            errors = core.frame_errors(outputs.frames, targets, frame_mask, kind="l1")
        else:
            errors = outputs.frame_errors
        weights = None
        if self.args.plc and self.args.plc_importance_correction and indices is not None and model.training:
            importance = self.plc_sampler.importance_weights(indices.cpu().numpy(), self.args.plc_beta)
            weights = torch.as_tensor(importance, device=errors.device, dtype=errors.dtype)
        if self.args.loss_mode == "rl":
            loss = rl_loss(errors, frame_mask, self.args.rl_discount, weights)
        else:
            loss = weighted_mean_loss(errors, frame_mask, weights)
        loss = loss + outputs.future_loss
        if outputs.duration_loss is not None:  # a duration-aligned model's predictor of frames per token
            loss = loss + outputs.duration_loss
        if outputs.hand_loss is not None:  # the hands' shapes, relative to their wrists
            loss = loss + outputs.hand_loss
        if outputs.velocity_loss is not None:  # every joint's motion from frame to frame
            loss = loss + outputs.velocity_loss
        if self.args.plc and model.training and self.plc_sampler is not None and indices is not None:
            self._update_priorities(indices, returns(errors.detach(), frame_mask, 1.0))
        if self.language_priority is not None and model.training:
            self._update_language_priority(inputs["language"], errors.detach(), frame_mask)
        return (loss, outputs) if return_outputs else loss

    def _update_priorities(self, indices: torch.Tensor, rewards: torch.Tensor) -> None:
        # Every process must apply the same updates, so the sampler streams stay equal: gather them first.
        indices, rewards = indices.to(rewards.device).long(), rewards.float()
        if self.accelerator.num_processes > 1:
            indices, rewards = self.accelerator.gather(indices), self.accelerator.gather(rewards)
        self.plc_sampler.update(indices.cpu().numpy(), rewards.cpu().numpy())

    def _update_language_priority(self, languages: list[str], errors: torch.Tensor, frame_mask: torch.Tensor) -> None:
        # The mean frame error of each language in the batch, summed over all processes, so every process applies
        # the same update and its stream keeps drawing the same language as the others'.
        codes = self.language_priority.languages
        rows = torch.tensor([codes.index(code) for code in languages], device=errors.device)
        mask = frame_mask.to(errors.dtype)
        totals = errors.new_zeros(2, len(codes))
        totals[0].index_add_(0, rows, (errors * mask).sum(dim=1))
        totals[1].index_add_(0, rows, mask.sum(dim=1))
        if self.accelerator.num_processes > 1:
            totals = self.accelerator.reduce(totals, reduction="sum")
        sums, frames = totals.float().cpu().tolist()
        self.language_priority.update({code: s / n for code, s, n in zip(codes, sums, frames) if n > 0})

    # -- evaluation ----------------------------------------------------------------------------------------------

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        inputs.pop("sample_index", None)
        with torch.no_grad():
            loss = model(**inputs).loss.detach()
        return loss, None, None

    def evaluation_loop(
        self, dataloader, description, prediction_loss_only=None, ignore_keys=None, metric_key_prefix="eval"
    ) -> EvalLoopOutput:
        output = super().evaluation_loop(dataloader, description, True, ignore_keys, metric_key_prefix)
        if self.args.eval_generate:
            output.metrics.update(self._generation_metrics(dataloader, metric_key_prefix))
        return output

    def _generation_metrics(self, dataloader, prefix: str) -> dict[str, float]:
        """Generate every evaluation clip and score it against its reference: DTW (PT), DTW-MJE, length error."""
        model = self.accelerator.unwrap_model(self.model)
        sums = torch.zeros(4, dtype=torch.float64)  # dtw, mje, relative length error, count
        for inputs in dataloader:
            generated = model.generate(
                inputs["input_ids"],
                inputs["attention_mask"],
                language=inputs["language"],
                max_frames=self.args.eval_max_frames,
            )
            labels, mask = inputs["labels"].cpu().numpy(), inputs["frame_mask"].cpu().numpy()
            poses, lengths = generated.poses.cpu().numpy(), generated.lengths.cpu().numpy()
            counters = generated.counters.cpu().numpy()
            for row in range(len(labels)):
                length, reference_length = max(int(lengths[row]), 1), int(mask[row].sum())
                reference = labels[row, :reference_length, : model.config.pose_dim].reshape(reference_length, -1, 3)
                scores = clip_scores(reference, poses[row, :length], counters[row, :length])
                values = [scores["dtw"], scores["dtw_mje"], scores["length_error"], 1.0]
                sums += torch.tensor(values, dtype=torch.float64)
        if self.accelerator.num_processes > 1:
            sums = self.accelerator.reduce(sums.to(self.accelerator.device), reduction="sum").cpu()
        count = max(float(sums[3]), 1.0)
        return {
            f"{prefix}_dtw": float(sums[0]) / count,
            f"{prefix}_dtw_mje": float(sums[1]) / count,
            f"{prefix}_length_error": float(sums[2]) / count,
        }
