"""The arguments of a training run: what to train on (:class:`DataArguments`), which model
(:class:`ModelArguments`), how (:class:`SignLLMTrainingArguments`: `TrainingArguments` plus the loss mode, PLC,
the noise schedule and evaluation by generation) and, in Prompt2LangGloss mode, the prompt stage
(:class:`PromptStageArguments`). A YAML file gives any of them, command-line flags override it
(``signllm_hf.training.scaffold.parse_arguments``).

Example:
    >>> from signllm_hf.training.arguments import SignLLMTrainingArguments
    >>> args = SignLLMTrainingArguments(output_dir="/tmp/run", loss_mode="rl", plc=True, plc_eta=0.6)
    >>> args.loss_mode, args.plc, args.plc_priority, args.remove_unused_columns
    ('rl', True, 'error', False)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from ..configuration_signllm import DECODER_INPUTS, PRESETS
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
    language_priority: float = field(
        default=0.0,
        metadata={
            "help": "--letter_strings: draw each batch's language with probability proportional to its running "
            "training loss to this power (the PLC over languages: hard alphabets get more steps); 0: uniform."
        },
    )
    gaussian_noise: float | None = field(
        default=None, metadata={"help": "Decoder input noise (normalised units); default: the model config's."}
    )
    gaussian_noise_schedule: str = field(
        default="constant", metadata={"help": f"How the noise evolves over training, one of {NOISE_SCHEDULES}."}
    )
    train_seconds: float | None = field(
        default=None,
        metadata={
            "help": "Stop training after this much time (seconds, evaluations during training included; the final "
            "evaluation and saving come after), whatever max_steps."
        },
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
        if self.language_priority < 0:
            raise ValueError(f"`language_priority` must be >= 0, got {self.language_priority}")
        if self.plc_beta < 0:
            raise ValueError(f"`plc_beta` must be >= 0, got {self.plc_beta}")
        if self.plc_refresh_steps is not None and self.plc_refresh_steps <= 0:
            raise ValueError(f"`plc_refresh_steps` must be > 0, got {self.plc_refresh_steps}")
        if self.gaussian_noise is not None and self.gaussian_noise < 0:
            raise ValueError(f"`gaussian_noise` must be >= 0, got {self.gaussian_noise}")
        if self.gaussian_noise_schedule not in NOISE_SCHEDULES:
            raise ValueError(f"`gaussian_noise_schedule` must be one of {NOISE_SCHEDULES}")
        if self.train_seconds is not None and self.train_seconds <= 0:
            raise ValueError(f"`train_seconds` must be > 0, got {self.train_seconds}")
        if self.eval_max_frames is not None and self.eval_max_frames <= 0:
            raise ValueError(f"`eval_max_frames` must be > 0, got {self.eval_max_frames}")


@dataclass
class DataArguments:
    """Which corpus, splits, languages and clips to train on."""

    dataset: str = field(default=None, metadata={"help": "Corpus folder (ours, or Prompt2Sign .skels files)."})
    skels_language: str | None = field(
        default=None, metadata={"help": "The sign language of a Prompt2Sign (.skels) folder's clips."}
    )
    languages: list[str] | None = field(
        default=None, metadata={"help": "Train only these languages (ase,gsg or ase gsg)."}
    )
    train_split: str = field(default="train", metadata={"help": "Split to train on."})
    eval_split: str | None = field(default="dev", metadata={"help": "Split to evaluate on ('none' to skip)."})
    max_train_clips: int | None = field(default=None, metadata={"help": "Use at most this many training clips."})
    max_eval_clips: int | None = field(default=64, metadata={"help": "Evaluate on at most this many clips."})
    tokenizer: str | None = field(default=None, metadata={"help": "A saved tokenizer instead of training one."})
    tokenizer_vocab_size: int = field(default=8000, metadata={"help": "Vocabulary of the trained tokenizer."})
    letter_strings: bool = field(
        default=False,
        metadata={
            "help": "Fingerspelling corpora: train on an endless stream of random letter strings and training-split "
            "words, spelled on the fly with the lexicon's letter clips (varied in timing and size), instead of the "
            "corpus's clips; the corpus still gives the statistics and the evaluation split."
        },
    )
    letter_strings_word_fraction: float = field(
        default=0.5, metadata={"help": "The stream's share of real words (training split); the rest random strings."}
    )
    lexicon: str | None = field(
        default=None, metadata={"help": "Fingerspelling lexicon folder (default: the spoken-to-signed lexicon)."}
    )

    def __post_init__(self):
        # `--languages ase,gsg` as in the other commands, and `--languages ase gsg` as argparse lists go.
        if self.languages is not None:
            self.languages = [code.strip() for item in self.languages for code in str(item).split(",") if code.strip()]


@dataclass
class ModelArguments:
    """The model: a preset and any config field to override, or a saved model to continue from."""

    model_name_or_path: str | None = field(default=None, metadata={"help": "Continue from a saved SignLLM model."})
    preset: str = field(default="base", metadata={"help": f"Model size, one of {list(PRESETS)}."})
    text_encoder: str | None = field(default=None, metadata={"help": "A pretrained transformers text encoder."})
    mode: str = field(default="mlsf", metadata={"help": "mlsf (a group per language) or prompt2langgloss."})
    d_model: int | None = field(default=None, metadata={"help": "Override the preset's width."})
    ffn_dim: int | None = field(default=None, metadata={"help": "Override the preset's FFN size."})
    encoder_layers: int | None = field(default=None, metadata={"help": "Override the preset's encoder depth."})
    decoder_layers: int | None = field(default=None, metadata={"help": "Override the preset's decoder depth."})
    attention_heads: int | None = field(default=None, metadata={"help": "Override the preset's heads."})
    dropout: float = field(default=0.1, metadata={"help": "Dropout."})
    max_frames: int = field(default=400, metadata={"help": "Generation cap; longer training clips are dropped."})
    future_prediction: int = field(
        default=3, metadata={"help": "Also predict this many further frames (PT), in training only."}
    )
    model_gaussian_noise: float = field(default=0.0, metadata={"help": "Decoder input noise of the model (PT)."})
    decoder_input: str = field(
        default="frame",
        metadata={"help": f"What the decoder reads besides positions, one of {DECODER_INPUTS} (see SignLLMConfig)."},
    )
    counter_loss_weight: float = field(default=10.0, metadata={"help": "Weight of the counter in the loss."})
    hand_loss_weight: float = field(
        default=0.0, metadata={"help": "Weight of a loss on the hands' shapes relative to their wrists (0: off)."}
    )
    velocity_loss_weight: float = field(
        default=0.0, metadata={"help": "Weight of a loss on every joint's motion from frame to frame (0: off)."}
    )
    alignment: str = field(
        default="attention",
        metadata={
            "help": "How frames find their text: 'attention' (Progressive Transformers) or 'duration' (frames per "
            "token predicted; needs per-character durations: fingerspelling corpora, --letter_strings)."
        },
    )
    decoding: str = field(
        default="autoregressive",
        metadata={
            "help": "'autoregressive' (frame by frame, Progressive Transformers) or 'parallel' (all frames in one "
            "pass from the durations; needs --alignment duration --decoder_input position)."
        },
    )


@dataclass
class PromptStageArguments:
    """Prompt2LangGloss only: the prompt stage (prompt or text -> LangGloss), trained after the pose model."""

    prompt_stage_steps: int = field(default=3000, metadata={"help": "Training steps of the prompt stage (0: none)."})
    prompt_stage_seconds: float | None = field(default=None, metadata={"help": "Stop it after this many seconds."})
    prompt_stage_d_model: int = field(default=256, metadata={"help": "Width of its encoder and decoder."})
    prompt_stage_layers: int = field(default=3, metadata={"help": "Layers of its encoder and of its decoder."})
    prompt_stage_vocab_size: int = field(
        default=260, metadata={"help": "Its prompt tokenizer's vocabulary (260 = bytes: letters, for fingerspelling)."}
    )
    prompt_stage_batch_size: int = field(default=32, metadata={"help": "Its batch size per device."})
    prompt_stage_learning_rate: float = field(default=5e-4, metadata={"help": "Its learning rate."})
    prompts_per_clip: int = field(default=2, metadata={"help": "Prompt templates per training clip."})
