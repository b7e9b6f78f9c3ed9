"""Train SignLLM on a corpus: the entry point of ``signllm train`` and ``recipes/train.py``.

    signllm train --config recipes/configs/tiny_cpu.yaml --dataset corpora/fingerspelling --output_dir runs/tiny
    accelerate launch recipes/train.py --config recipes/configs/base.yaml --dataset DATA --output_dir runs/base

A YAML config gives any field of the three argument groups below (data, model, training); command-line flags
override it. The dataset is a folder written by this library (``signllm corpus ...``, ``signllm convert ...``) or a
Prompt2Sign / Progressive Transformers folder of ``.skels`` files (then pass ``--language``). The text tokenizer is
trained on the training text unless ``--tokenizer`` names one; the model's statistics come from the training data.
At the end the model and its tokenizer are saved in ``output_dir`` (loadable with ``pipeline("text-to-pose")``).

With ``--mode prompt2langgloss`` the model is one shared group for every language and reads LangGloss (each clip's
gloss, or its text through the automatic gloss marker, as ``<ASL_sky>`` tokens, with a LangGloss vocabulary
built from the training split); then the prompt stage (prompt or text -> LangGloss, ``signllm_hf.prompt2langgloss``)
is trained on the same clips and saved in ``output_dir/prompt_to_langgloss``: the folder is a two-stage checkpoint
for ``pipeline("text-to-pose")``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from tqdm.auto import tqdm
from transformers import AutoTokenizer, HfArgumentParser, TrainerCallback, set_seed
from transformers.trainer_utils import get_last_checkpoint

from .configuration_signllm import DECODER_INPUTS, PRESETS, SignLLMConfig
from .data.collator import SignLLMDataCollator
from .data.dataset import add_column, compute_pose_stats, frame_counts
from .data.langgloss import is_langgloss_token, row_langgloss
from .data.languages import canonical_language
from .evaluation import load_split
from .modeling_signllm import SignLLMForPoseGeneration
from .tokenization_signllm import build_langgloss_tokenizer, train_text_tokenizer
from .trainer import SignLLMTrainer
from .training_args import SignLLMTrainingArguments

logger = logging.getLogger(__name__)


@dataclass
class DataArguments:
    """Which corpus, splits, languages and clips to train on."""

    dataset: str = field(default=None, metadata={"help": "Corpus folder (ours, or Prompt2Sign .skels files)."})
    language: str | None = field(default=None, metadata={"help": "Language of a Prompt2Sign folder's clips."})
    languages: list[str] | None = field(default=None, metadata={"help": "Train only these languages."})
    train_split: str = field(default="train", metadata={"help": "Split to train on."})
    eval_split: str | None = field(default="dev", metadata={"help": "Split to evaluate on ('none' to skip)."})
    max_train_clips: int | None = field(default=None, metadata={"help": "Use at most this many training clips."})
    max_eval_clips: int | None = field(default=64, metadata={"help": "Evaluate on at most this many clips."})
    tokenizer: str | None = field(default=None, metadata={"help": "A saved tokenizer instead of training one."})
    tokenizer_vocab_size: int = field(default=8000, metadata={"help": "Vocabulary of the trained tokenizer."})


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
        default=3, metadata={"help": "Predict this many further frames (PT); 3 won the ablation (README, Training)."}
    )
    model_gaussian_noise: float = field(default=0.0, metadata={"help": "Decoder input noise of the model (PT)."})
    decoder_input: str = field(
        default="frame",
        metadata={"help": f"What the decoder reads besides positions, one of {DECODER_INPUTS} (see SignLLMConfig)."},
    )
    counter_loss_weight: float = field(default=10.0, metadata={"help": "Weight of the counter in the loss."})


def make_parser() -> HfArgumentParser:
    parser = HfArgumentParser((DataArguments, ModelArguments, SignLLMTrainingArguments, PromptStageArguments))
    parser.add_argument("--config", help="YAML file of arguments (command-line flags override it)")
    return parser


def parse_arguments(argv: list[str] | None = None):
    """``(data, model, training, prompt_stage)`` arguments from ``--config FILE.yaml`` and the command line (wins)."""
    parser = make_parser()
    given = sys.argv[1:] if argv is None else argv
    argv = []
    for argument in given:  # --config=FILE -> --config FILE
        argv.extend(argument.split("=", 1) if argument.startswith("--config=") else [argument])
    if "--config" in argv:
        position = argv.index("--config")
        if position + 1 == len(argv):
            raise ValueError("--config needs a YAML file")
        path = Path(argv[position + 1])
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such config file")
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        known = {action.dest for action in parser._actions}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"{path}: unknown setting(s) {unknown}; see `signllm train --help`")
        parser.set_defaults(**settings)
        del argv[position : position + 2]
    try:
        data, model, training, prompt_stage, _ = parser.parse_args_into_dataclasses(args=argv)
    except ValueError as error:
        if "bf16" not in str(error):
            raise
        raise ValueError(f"{error} (this machine has no bf16 GPU: pass --bf16 false to train in float32)") from error
    if data.dataset is None:
        raise ValueError("pass --dataset (a corpus folder) or set `dataset` in the config")
    return data, model, training, prompt_stage


def load_splits(data: DataArguments):
    """The training and evaluation splits, restricted to ``languages`` and clip counts."""
    folder = Path(data.dataset)
    splits = load_split(data.dataset, None, data.language)
    if data.train_split not in splits:
        raise ValueError(f"{folder} has no {data.train_split!r} split; it has {list(splits)}")
    eval_split = None if data.eval_split in (None, "none") else data.eval_split
    if eval_split is not None and eval_split not in splits:
        logger.warning("%s has no %r split: training without evaluation", folder, eval_split)
        eval_split = None
    train = splits[data.train_split]
    evaluation = splits[eval_split] if eval_split else None
    if data.languages:
        wanted = {canonical_language(code) for code in data.languages}
        train = train.filter(lambda row: row["language"] in wanted)
        evaluation = evaluation.filter(lambda row: row["language"] in wanted) if evaluation is not None else None
    if data.max_train_clips is not None and len(train) > data.max_train_clips:
        train = train.shuffle(seed=0).select(range(data.max_train_clips))
    if evaluation is not None:  # the model will only have the training split's languages
        trained = set(train["language"])
        extra = sorted(set(evaluation["language"]) - trained)
        if extra:
            logger.warning("%s: evaluation clips in %s, which the training split lacks, are left out", folder, extra)
            evaluation = evaluation.filter(lambda row: row["language"] in trained)
        if len(evaluation) == 0:
            logger.warning("%s: no evaluation clip in the training languages: training without evaluation", folder)
            evaluation = None
    if evaluation is not None and data.max_eval_clips is not None and len(evaluation) > data.max_eval_clips:
        evaluation = evaluation.shuffle(seed=0).select(range(data.max_eval_clips))
    return train, evaluation


def _drop_long_clips(dataset, max_frames: int, name: str):
    lengths = frame_counts(dataset)
    keep = [i for i, n in enumerate(lengths) if n <= max_frames]
    if len(keep) < len(dataset):
        logger.warning("%s: %d clip(s) longer than max_frames=%d left out", name, len(dataset) - len(keep), max_frames)
        dataset = dataset.select(keep)
    return dataset


def build_model(model_args: ModelArguments, tokenizer, languages: list[str], stats: dict) -> SignLLMForPoseGeneration:
    """A new model for these languages and statistics (or the saved one, with any missing language added)."""
    if model_args.model_name_or_path:
        model = SignLLMForPoseGeneration.from_pretrained(model_args.model_name_or_path)
        for code in languages:
            if code not in model.config.languages:
                model.add_language(code)
        return model
    sizes = {name: getattr(model_args, name) for name in ("d_model", "ffn_dim", "encoder_layers", "decoder_layers",
                                                          "attention_heads") if getattr(model_args, name)}  # fmt: skip
    options = {"languages": languages, "mode": model_args.mode, "dropout": model_args.dropout,
               "max_frames": model_args.max_frames, "future_prediction": model_args.future_prediction,
               "gaussian_noise": model_args.model_gaussian_noise, "decoder_input": model_args.decoder_input,
               "counter_loss_weight": model_args.counter_loss_weight} | sizes  # fmt: skip
    if model_args.text_encoder:
        preset = {k: v for k, v in PRESETS[model_args.preset].items() if k not in sizes}
        return SignLLMForPoseGeneration.from_text_encoder(model_args.text_encoder, **preset, **options)
    config = SignLLMConfig.from_preset(model_args.preset, vocab_size=len(tokenizer), **options)
    if sizes:  # no longer the preset's sizes: the paper-style name says "Custom"
        config.preset = None
    config.with_data_statistics(stats)
    return SignLLMForPoseGeneration(config)


def _on_every_process(decision: bool, args) -> bool:
    """``decision`` of process 0 on every process: clocks differ between processes, and one that stopped a step
    before the others would leave them waiting in the gradient all-reduce."""
    if args.world_size <= 1 or not torch.distributed.is_initialized():
        return decision
    flag = torch.tensor([float(decision)], device=args.device)
    torch.distributed.broadcast(flag, src=0)
    return bool(flag.item())


class StopAfter(TrainerCallback):
    """Stop training after ``seconds`` of wall-clock time (time-boxed runs: the quickstart, the ablation).

    With ``progress`` it shows a bar of the time budget (the step count of such runs means nothing in advance)
    with the step and the latest loss; pass ``disable_tqdm=True`` to the trainer so only this bar is drawn.
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
        if self.seconds is not None and _on_every_process(elapsed > self.seconds, args):
            control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is not None and logs and "loss" in logs:
            self.bar.set_postfix(step=state.global_step, loss=f"{float(logs['loss']):.4f}")

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _checkpoint_to_resume(training_args: SignLLMTrainingArguments) -> str | None:
    """``--resume_from_checkpoint``: a checkpoint folder, or ``true`` for the latest one in ``output_dir``."""
    resume = training_args.resume_from_checkpoint
    if resume is None or str(resume).lower() in ("false", "no", ""):
        return None
    if str(resume).lower() in ("true", "yes", "last"):
        last = get_last_checkpoint(training_args.output_dir) if Path(training_args.output_dir).is_dir() else None
        if last is None:
            raise ValueError(f"--resume_from_checkpoint true: no checkpoint-* folder in {training_args.output_dir}")
        return last
    if not Path(resume).is_dir():
        raise FileNotFoundError(f"--resume_from_checkpoint {resume}: no such checkpoint folder")
    return str(resume)


def _with_langgloss(dataset):
    """The dataset with a ``langgloss`` column (from each clip's gloss, else its text), formatted as before."""
    columns = {name: dataset[name] for name in ("language", "text")}
    glosses = dataset["gloss"] if "gloss" in dataset.column_names else [""] * len(dataset)
    values = [row_langgloss({"language": code, "text": text, "gloss": gloss})
              for code, text, gloss in zip(columns["language"], columns["text"], glosses)]  # fmt: skip
    return add_column(dataset, "langgloss", values)


def _check_langgloss_vocabulary(tokenizer, source) -> None:
    """A LangGloss model reads whole ``<TAG_gloss>`` tokens; a subword text tokenizer would cut them into pieces."""
    words = [token for token in tokenizer.get_vocab() if token not in tokenizer.all_special_tokens]
    if words and not all(is_langgloss_token(token) for token in words[:50]):
        raise ValueError(f"{source}: not a LangGloss vocabulary (tokens like <ASL_when>); leave --tokenizer out in "
                         "prompt2langgloss mode and one is built from the corpus")  # fmt: skip


def train(data: DataArguments, model_args: ModelArguments, training_args: SignLLMTrainingArguments,
          prompt_stage: PromptStageArguments | None = None, callbacks=None, on_trainer=None) -> dict:  # fmt: skip
    """Train, evaluate and save; returns the final metrics (also in ``output_dir/metrics.json``).

    ``callbacks`` are added to the trainer's; ``on_trainer`` (optional) is called with the built
    :class:`SignLLMTrainer` before training starts, for callers that need it (e.g. to evaluate mid-training).
    In ``prompt2langgloss`` mode the prompt stage follows (``prompt_stage``: its arguments, defaults if None).
    """
    langgloss = model_args.mode == "prompt2langgloss"
    train_set, eval_set = load_splits(data)
    if len(train_set) == 0:
        raise ValueError(f"{data.dataset}: the {data.train_split!r} split has no clip for the chosen languages")
    train_set = _drop_long_clips(train_set, model_args.max_frames, "train")
    if eval_set is not None:
        eval_set = _drop_long_clips(eval_set, model_args.max_frames, "eval")
    if langgloss:
        train_set = _with_langgloss(train_set)
        eval_set = _with_langgloss(eval_set) if eval_set is not None else None
    resume = _checkpoint_to_resume(training_args)
    saved = model_args.model_name_or_path
    if saved:  # continuing a saved model: its mode and its vocabulary, or its embeddings read the wrong ids
        saved_mode = SignLLMConfig.from_pretrained(saved).mode
        if saved_mode != model_args.mode:
            raise ValueError(f"{saved} is a {saved_mode!r} model: pass --mode {saved_mode} to continue training it")
    if resume is not None and (Path(resume) / "tokenizer.json").is_file():  # the run's own tokenizer
        tokenizer = AutoTokenizer.from_pretrained(resume)
    elif saved and (Path(saved) / "tokenizer.json").is_file():
        if data.tokenizer:
            logger.warning("--tokenizer %s ignored: %s is trained on its own tokenizer", data.tokenizer, saved)
        tokenizer = AutoTokenizer.from_pretrained(saved)
    elif data.tokenizer:
        tokenizer = AutoTokenizer.from_pretrained(data.tokenizer)
    elif langgloss:
        if model_args.text_encoder:
            raise ValueError("prompt2langgloss reads LangGloss tokens: a pretrained text encoder does not apply")
        tokenizer = build_langgloss_tokenizer(train_set["langgloss"])
    if langgloss:
        _check_langgloss_vocabulary(tokenizer, data.tokenizer or saved)
    elif model_args.text_encoder:
        tokenizer = AutoTokenizer.from_pretrained(model_args.text_encoder)
    else:
        tokenizer = train_text_tokenizer(train_set["text"], vocab_size=data.tokenizer_vocab_size)
    languages = sorted(set(train_set["language"]))  # not .unique(): it flattens indices, which fails on Array3D
    stats = compute_pose_stats(train_set) | {"fps": float(train_set[0]["fps"])}
    set_seed(training_args.seed)  # the model's initial weights follow --seed, as the Trainer's data order does
    model = build_model(model_args, tokenizer, languages, stats)
    if eval_set is None and training_args.eval_strategy != "no":
        training_args.eval_strategy = "no"
    collator = SignLLMDataCollator(tokenizer=tokenizer, text_column="langgloss" if langgloss else "text",
                                   max_text_length=model.config.max_text_length)  # fmt: skip
    trainer = SignLLMTrainer(model=model, args=training_args, data_collator=collator, train_dataset=train_set,
                             eval_dataset=eval_set, processing_class=tokenizer, callbacks=callbacks)  # fmt: skip
    if on_trainer is not None:
        on_trainer(trainer)
    result = trainer.train(resume_from_checkpoint=resume)
    metrics = dict(result.metrics)
    if eval_set is not None:
        metrics.update(trainer.evaluate())
    trainer.save_model(training_args.output_dir)
    stage_one = Path(training_args.output_dir) / "prompt_to_langgloss"
    if langgloss and (prompt_stage or PromptStageArguments()).prompt_stage_steps <= 0 and stage_one.is_dir():
        logger.warning("%s is from an earlier run: retrain it (--prompt_stage_steps > 0) if the corpus changed",
                       stage_one)  # fmt: skip
    if langgloss and (prompt_stage or PromptStageArguments()).prompt_stage_steps > 0:
        metrics |= _train_prompt_stage(prompt_stage or PromptStageArguments(), train_set, eval_set, tokenizer,
                                       training_args)  # fmt: skip
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(training_args.output_dir)
        metrics["model"] = trainer.model.paper_name()
        metrics["world_size"] = training_args.world_size
        path = Path(training_args.output_dir) / "metrics.json"
        path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


def _train_prompt_stage(arguments: PromptStageArguments, train_set, eval_set, tokenizer, training_args) -> dict:
    from .prompt2langgloss import train_prompt_model  # noqa: PLC0415

    text_columns = [name for name in ("id", "language", "text", "gloss") if name in train_set.column_names]
    rows = train_set.select_columns(text_columns).with_format(None).to_list()
    eval_rows = eval_set.select_columns(text_columns).with_format(None).to_list() if eval_set is not None else None
    return train_prompt_model(
        rows, training_args.output_dir, tokenizer, eval_rows=eval_rows, d_model=arguments.prompt_stage_d_model,
        layers=arguments.prompt_stage_layers, source_vocab_size=arguments.prompt_stage_vocab_size,
        prompts_per_clip=arguments.prompts_per_clip,
        max_steps=arguments.prompt_stage_steps, seconds=arguments.prompt_stage_seconds,
        batch_size=arguments.prompt_stage_batch_size, learning_rate=arguments.prompt_stage_learning_rate,
        seed=training_args.seed, progress=not training_args.disable_tqdm, use_cpu=training_args.use_cpu,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return train(*parse_arguments(argv))


if __name__ == "__main__":
    main()
