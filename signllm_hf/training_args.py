"""Training arguments of SignLLM: `TrainingArguments` plus what is new here (loss mode, PLC, noise schedule, eval).

Example:
    >>> from signllm_hf.training_args import SignLLMTrainingArguments
    >>> args = SignLLMTrainingArguments(output_dir="/tmp/run", loss_mode="rl", plc=True, plc_eta=0.6)
    >>> args.loss_mode, args.plc, args.plc_priority, args.remove_unused_columns
    ('rl', True, 'error', False)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from .plc import PRIORITIES as PLC_PRIORITIES

LOSS_MODES = ("mse", "l1", "rl")
NOISE_SCHEDULES = ("constant", "linear", "cosine")


@dataclass
class SignLLMTrainingArguments(TrainingArguments):
    """[`TrainingArguments`] with the losses and the Priority Learning Channel of SignLLM.

    The dataset's ``language`` column must reach the collator, so ``remove_unused_columns`` defaults to False here.
    """

    loss_mode: str = field(default="mse", metadata={"help": f"Training loss, one of {LOSS_MODES}."})
    rl_discount: float = field(
        default=1.0,
        metadata={"help": "RL loss: discount gamma of the per-frame rewards in each sample's return (1 = plain MSE)."},
    )
    plc: bool = field(default=False, metadata={"help": "Sample training clips with the Priority Learning Channel."})
    plc_eta: float = field(default=1.0, metadata={"help": "PLC: P(i) = p_i^eta / sum_j p_j^eta (0 < eta)."})
    plc_priority: str = field(
        default="error",
        metadata={
            "help": "PLC priority of a clip from its last observed reward r <= 0: 'error' = |r| + eps (learn more "
            "from what is still wrong), 'rank' = 1 / rank by error, 'reward' = exp(r) (the paper's p = r made "
            f"positive: easier clips first). One of {PLC_PRIORITIES}."
        },
    )
    plc_importance_correction: bool = field(
        default=True, metadata={"help": "PLC: weight each clip's loss by (N P(i))^-beta / max (prioritised replay)."}
    )
    plc_beta: float = field(default=0.5, metadata={"help": "PLC: exponent of the importance-sampling correction."})
    plc_refresh_steps: int | None = field(
        default=None,
        metadata={
            "help": "PLC: batches per sampler epoch, counted over all processes and accumulation micro-steps "
            "(one optimizer step = processes x gradient_accumulation_steps batches); priorities observed so far "
            "shape each new epoch's draw. Default: one pass over the training set."
        },
    )
    language_batches: bool = field(
        default=True,
        metadata={
            "help": "Batches hold one language each (MLSF trains one group per step); with several processes all "
            "of them train the same language in a step."
        },
    )
    gaussian_noise: float | None = field(
        default=None, metadata={"help": "Decoder input noise (normalised units); default: the model config's."}
    )
    gaussian_noise_schedule: str = field(
        default="constant", metadata={"help": f"How the noise evolves over training, one of {NOISE_SCHEDULES}."}
    )
    eval_generate: bool = field(
        default=True, metadata={"help": "Evaluation also generates poses and reports DTW against the references."}
    )
    eval_max_frames: int | None = field(default=None, metadata={"help": "Cap on generated frames in evaluation."})
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Keep every dataset column (the collator needs `language` and `text`)."}
    )
    ddp_find_unused_parameters: bool | None = field(
        default=True,
        metadata={"help": "MLSF batches train one language's group; the others have no gradient in that step."},
    )

    def __post_init__(self):
        super().__post_init__()
        if self.loss_mode not in LOSS_MODES:
            raise ValueError(f"`loss_mode` must be one of {LOSS_MODES}, got {self.loss_mode!r}")
        if not 0 < self.rl_discount <= 1:
            raise ValueError(f"`rl_discount` must be in (0, 1], got {self.rl_discount}")
        if self.plc_eta <= 0:
            raise ValueError(f"`plc_eta` must be > 0, got {self.plc_eta}")
        if self.plc_priority not in PLC_PRIORITIES:
            raise ValueError(f"`plc_priority` must be one of {PLC_PRIORITIES}, got {self.plc_priority!r}")
        if self.plc_beta < 0:
            raise ValueError(f"`plc_beta` must be >= 0, got {self.plc_beta}")
        if self.plc_refresh_steps is not None and self.plc_refresh_steps <= 0:
            raise ValueError(f"`plc_refresh_steps` must be > 0, got {self.plc_refresh_steps}")
        if self.gaussian_noise is not None and self.gaussian_noise < 0:
            raise ValueError(f"`gaussian_noise` must be >= 0, got {self.gaussian_noise}")
        if self.gaussian_noise_schedule not in NOISE_SCHEDULES:
            raise ValueError(f"`gaussian_noise_schedule` must be one of {NOISE_SCHEDULES}")
        if self.eval_max_frames is not None and self.eval_max_frames <= 0:
            raise ValueError(f"`eval_max_frames` must be > 0, got {self.eval_max_frames}")
