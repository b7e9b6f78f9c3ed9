"""Training a language model with pose tokens (the discrete path) through the library's scaffold.

    signllm train-pose-lm OUT_DIR --pose-tokenizer VQ_DIR --corpus CORPUS [--lm t5-tiny|bart-tiny|qwen2-tiny|
        llama-tiny|HUB_ID|DIR] [--strategy direct|joint|staged] [--tasks text_to_pose,pose_to_text]
        [--pose-input codes|features] [--lora-r 8] [--seconds 300] [--max-steps 2000] [--letter-reader DIR]

The LM is a tiny one built from config (offline; sizes from ``d_model``, ``layers``, ``heads``, with a byte-level
BPE tokenizer trained on the corpus's texts) or any transformers model id / folder (``from_pretrained``, only when
given). :func:`~signllm_hf.modeling_signllm_pose_lm.add_pose_tokens` gives it the pose tokenizer's tokens; the
corpus's clips are encoded to pose codes once (cached, see ``signllm_hf.evaluation.pose_lm.corpus_codes``).

Strategies (arXiv 2511.08535's three, MotionGPT's tasks):

- ``direct``: the ``tasks`` asked for (text -> pose and/or pose -> text), mixed;
- ``joint``: text -> pose, pose -> text and pose completion mixed in every epoch;
- ``staged``: stage 1 (``stage1_fraction`` of the steps and time) aligns the modalities with the LM frozen: only the
  new token rows of the input and output embeddings learn (pose tokens, start/end, language tags; a gradient mask
  keeps every other row bit-identical, and AdamW without weight decay leaves a row with zero gradient unchanged),
  or, with ``pose_input="features"``, only the projector; stage 2 is instruction tuning on the joint mixture, of
  everything or of LoRA adapters.

Full fine-tuning or peft LoRA (``lora_r`` > 0): LoRA on the attention and feed-forward projections of the
architecture (:func:`lora_target_modules`), with the input embeddings and the LM head in ``modules_to_save`` (they
hold the new tokens). The folder then holds the base LM (``config.json`` + ``model.safetensors``, with the resized
embeddings; a LoRA run leaves these weights as they were when the adapter was added) and the adapter
(``adapter_config.json`` + ``adapter_model.safetensors``): ``from_pretrained`` of the folder loads both
(transformers' "local model with an embedded adapter"), and so do ``pipeline("text-to-pose" / "pose-to-text")``.

``pose_input="features"`` trains pose -> text from continuous frames through a
:class:`~signllm_hf.modeling_signllm_pose_projector.PoseFeatureProjector` (the "direct alignment and fusion"
combination); the folder then has ``pose_projector/`` and no pose tokenizer, so the pose-to-text pipeline reads
features.

After training the model is scored on ``eval_split`` (``signllm_hf.evaluation.pose_lm``: BLEU@1/@4, ROUGE-L,
CIDEr, WER with S/I/D for pose -> text; DTW and, with a letter reader, CER for text -> pose), written to
``OUT_DIR/metrics.json``.

Example:
    >>> from signllm_hf.training.pose_lm import PoseLMCollator, lora_target_modules
    >>> batch = PoseLMCollator(pad_id=0)([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
    ...                                   {"input_ids": [5], "labels": [9]}])
    >>> batch["input_ids"].tolist(), batch["attention_mask"].tolist(), batch["labels"].tolist()
    ([[5, 6, 7], [5, 0, 0]], [[1, 1, 1], [1, 0, 0]], [[-100, 6, 7], [9, -100, -100]])
    >>> lora_target_modules("t5")
    ['q', 'k', 'v', 'o', 'wi', 'wo', 'wi_0', 'wi_1']
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import TrainingArguments

from ..data.collator import pad_poses
from ..data.corpora import load_corpus, select_clips
from ..evaluation.pose_lm import corpus_codes, pose_lm_report
from ..modeling_signllm_pose_lm import (
    PoseTokenizerAdapter,
    PoseVocabulary,
    add_pose_tokens,
    load_pose_tokenizer,
    pad_batch,
    route_shared_embeddings,
    save_pose_lm,
    task_example,
)
from ..modeling_signllm_pose_projector import PoseFeatureProjector, fuse_pose_features
from ..tokenization_signllm import train_text_tokenizer
from .scaffold import ARGUMENTS_FILE, code_arguments, train_model, write_metrics

logger = logging.getLogger(__name__)
TINY_LMS = ("t5-tiny", "bart-tiny", "qwen2-tiny", "llama-tiny")
STRATEGIES = ("direct", "joint", "staged")
TASKS = ("text_to_pose", "pose_to_text", "completion")
POSE_INPUTS = ("codes", "features")
# LoRA targets by model type (name suffixes); other architectures get peft's "all-linear".
_LORA_TARGETS = {
    "t5": ["q", "k", "v", "o", "wi", "wo", "wi_0", "wi_1"],
    "mt5": ["q", "k", "v", "o", "wi_0", "wi_1", "wo"],
    "bart": ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"],
    "mbart": ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"],
}
_DECODER_ONLY_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


# ---------------------------------------------------------------------------------------------------------------
# The language model and its tokenizer
# ---------------------------------------------------------------------------------------------------------------


def build_language_model(
    lm: str, texts: list[str], *, d_model: int = 128, layers: int = 2, heads: int = 4, vocab_size: int = 1000
):
    """``(model, tokenizer)``: a tiny ``lm`` (one of ``TINY_LMS``) built from config with a BPE tokenizer trained on
    ``texts`` (offline), or any model id / folder loaded with ``from_pretrained``."""
    from transformers import (  # noqa: PLC0415 - only the chosen architecture is built
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        BartConfig,
        BartForConditionalGeneration,
        LlamaConfig,
        LlamaForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
        T5Config,
        T5ForConditionalGeneration,
    )

    if lm not in TINY_LMS:
        config = AutoConfig.from_pretrained(lm)
        auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
        model, tokenizer = auto.from_pretrained(lm), AutoTokenizer.from_pretrained(lm)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return model, tokenizer
    if d_model % heads:
        raise ValueError(f"`d_model` ({d_model}) must be a multiple of `heads` ({heads})")
    tokenizer = train_text_tokenizer(texts, vocab_size=vocab_size)
    special = {"pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id}
    vocab, ffn = len(tokenizer), 4 * d_model
    if lm == "t5-tiny":
        config = T5Config(
            vocab_size=vocab, d_model=d_model, d_kv=d_model // heads, d_ff=ffn, num_layers=layers, num_heads=heads,
            decoder_start_token_id=tokenizer.pad_token_id, dropout_rate=0.1, **special,
        )  # fmt: skip
        return T5ForConditionalGeneration(config), tokenizer
    if lm == "bart-tiny":
        config = BartConfig(
            vocab_size=vocab, d_model=d_model, encoder_layers=layers, decoder_layers=layers,
            encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn, decoder_ffn_dim=ffn,
            max_position_embeddings=1024, bos_token_id=tokenizer.bos_token_id,
            decoder_start_token_id=tokenizer.eos_token_id, dropout=0.1, **special,
        )  # fmt: skip
        return BartForConditionalGeneration(config), tokenizer
    config_class, model_class = (
        (Qwen2Config, Qwen2ForCausalLM) if lm == "qwen2-tiny" else (LlamaConfig, LlamaForCausalLM)
    )
    config = config_class(
        vocab_size=vocab, hidden_size=d_model, intermediate_size=ffn, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=max(1, heads // 2), max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id, **special,
    )  # fmt: skip
    return model_class(config), tokenizer


def lora_target_modules(model_type: str) -> list[str] | str:
    """The module name suffixes LoRA adapts for ``model_type``: attention and feed-forward projections."""
    if model_type in _LORA_TARGETS:
        return list(_LORA_TARGETS[model_type])
    if model_type in ("qwen2", "qwen3", "llama", "mistral", "gemma", "gemma2", "phi3"):
        return list(_DECODER_ONLY_TARGETS)
    return "all-linear"


def _module_name(model, module) -> str:
    for name, candidate in model.named_modules():
        if candidate is module:
            return name
    raise ValueError(f"{type(module).__name__} is not a module of the model")


def apply_lora(model, r: int, alpha: int | None = None, dropout: float = 0.05):
    """``model`` as a peft ``PeftModel`` with LoRA of rank ``r``; the input embeddings and the LM head (the pose
    tokens' rows) are trained whole (``modules_to_save``). Seq2seq models share one embedding between encoder and
    decoder: both are routed through the trained copy (:func:`route_shared_embeddings`)."""
    from peft import LoraConfig, get_peft_model  # noqa: PLC0415 - the LoRA route only

    if r < 1:
        raise ValueError(f"`lora_r` must be >= 1 for LoRA, got {r}")
    modules = [_module_name(model, model.get_input_embeddings()).rsplit(".", 1)[-1]]
    output = model.get_output_embeddings()
    if output is not None:  # tied or not: a trained copy of each (peft cannot keep a copy tied to another)
        modules.append(_module_name(model, output).rsplit(".", 1)[-1])
    config = LoraConfig(
        r=r,
        lora_alpha=alpha or 2 * r,
        lora_dropout=dropout,
        target_modules=lora_target_modules(model.config.model_type),
        modules_to_save=modules,
    )
    peft_model = get_peft_model(model, config)
    route_shared_embeddings(peft_model.get_base_model())
    return peft_model


def count_parameters(model) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts (shared tensors once)."""
    seen, trainable, total = set(), 0, 0
    for parameter in model.parameters():
        if id(parameter) in seen:
            continue
        seen.add(id(parameter))
        total += parameter.numel()
        trainable += parameter.numel() if parameter.requires_grad else 0
    return trainable, total


# ---------------------------------------------------------------------------------------------------------------
# Examples, collators and the feature model
# ---------------------------------------------------------------------------------------------------------------


def build_examples(
    tokenizer,
    vocabulary: PoseVocabulary,
    rows: list[dict],
    codes: list[list[int]],
    tasks,
    encoder_decoder: bool,
) -> list[dict]:
    """One ``task_example`` per clip and task (completion only for clips of at least two steps)."""
    examples = []
    steps = vocabulary.num_codebooks
    for row, clip_codes in zip(rows, codes):
        for task in tasks:
            split = None
            if task == "completion":
                if len(clip_codes) < 2 * steps:
                    continue
                split = len(clip_codes) // (2 * steps) * steps
            examples.append(
                task_example(
                    tokenizer,
                    vocabulary,
                    task,
                    language=row["language"],
                    encoder_decoder=encoder_decoder,
                    text=row["text"],
                    codes=clip_codes,
                    split=split,
                )  # fmt: skip
            )
    return examples


@dataclass
class PoseLMCollator:
    """Examples ``{"input_ids", "labels"}`` (id lists) -> ``input_ids`` / ``attention_mask`` (B, L) padded with
    ``pad_id`` on the right, ``labels`` (B, L') padded with -100."""

    pad_id: int

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        ids, mask = pad_batch([e["input_ids"] for e in examples], self.pad_id)
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "labels": pad_batch([e["labels"] for e in examples], -100)[0],
        }


@dataclass
class PoseFeatureCollator:
    """Clips ``{"pose", "language", "text"}`` -> ``poses`` (B, T, 150) zero-padded, ``frame_mask`` (B, T) bool and
    the ``languages`` / ``texts`` lists (the projector's inputs are built in the model's forward)."""

    def __call__(self, rows: list[dict]) -> dict:
        poses, frame_mask = pad_poses([r["pose"] for r in rows])
        return {
            "poses": poses,
            "frame_mask": frame_mask,
            "languages": [r["language"] for r in rows],
            "texts": [r["text"] for r in rows],
        }


class PoseFeatureTranslator(nn.Module):
    """The LM and its projector as one trainable module: pose -> text from continuous features."""

    def __init__(self, lm, tokenizer, projector: PoseFeatureProjector):
        super().__init__()
        self.lm, self.projector, self.tokenizer = lm, projector, tokenizer

    def forward(self, poses, frame_mask, languages, texts):
        inputs = fuse_pose_features(self.lm, self.tokenizer, self.projector, poses, frame_mask, languages, texts)
        return self.lm(**inputs)


# ---------------------------------------------------------------------------------------------------------------
# Stage 1 of the staged strategy: only the new rows (or the projector) learn
# ---------------------------------------------------------------------------------------------------------------


def freeze_for_alignment(model, first_new_id: int | None = None, projector: nn.Module | None = None) -> list:
    """Freeze ``model``; train its embedding rows from ``first_new_id`` on (input and output embeddings; the others
    get a zero gradient) or, with ``projector``, only the projector. Returns the gradient hooks to remove after."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if projector is not None:
        projector.requires_grad_(True)
        return []
    hooks, seen = [], set()
    for module in (model.get_input_embeddings(), model.get_output_embeddings()):
        if module is None or id(module.weight) in seen:
            continue
        seen.add(id(module.weight))
        keep = torch.zeros(module.weight.shape[0], 1, dtype=module.weight.dtype, device=module.weight.device)
        keep[first_new_id:] = 1
        module.weight.requires_grad_(True)
        hooks.append(module.weight.register_hook(lambda grad, keep=keep: grad * keep))
    return hooks


# ---------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------


def _check_choice(name: str, value: str, choices) -> None:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}")


def resolve_tasks(strategy: str, tasks, pose_input: str) -> tuple[str, ...]:
    """The tasks of a run: ``direct`` trains those asked for, ``joint`` and ``staged`` the three mixed; with
    continuous features only pose -> text."""
    _check_choice("strategy", strategy, STRATEGIES)
    _check_choice("pose_input", pose_input, POSE_INPUTS)
    if isinstance(tasks, str):
        tasks = [task.strip() for task in tasks.split(",") if task.strip()]
    tasks = tuple(tasks or ("text_to_pose", "pose_to_text"))
    for task in tasks:
        _check_choice("tasks", task, TASKS)
    if pose_input == "features":
        if strategy == "joint" or set(tasks) - {"pose_to_text"}:
            raise ValueError(
                "--pose-input features trains pose -> text only (continuous frames in, text out): pass "
                "--tasks pose_to_text and --strategy direct or staged"
            )
        return ("pose_to_text",)
    return TASKS if strategy in ("joint", "staged") else tasks


def _split_budget(value, fraction: float):
    if value is None:
        return None, None
    first = type(value)(max(1, round(value * fraction))) if isinstance(value, int) else value * fraction
    return first, value - first if isinstance(value, int) else value * (1 - fraction)


def train_pose_lm(
    output_dir: str,
    *,
    pose_tokenizer: str,
    corpus: str,
    lm: str = "t5-tiny",
    strategy: str = "direct",
    tasks=None,
    pose_input: str = "codes",
    lora_r: int = 0,
    lora_alpha: int | None = None,
    languages: list[str] | None = None,
    max_steps: int = 2000,
    seconds: float | None = None,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    stage1_fraction: float = 0.3,
    d_model: int = 128,
    layers: int = 2,
    heads: int = 4,
    vocab_size: int = 1000,
    max_pose_tokens: int = 250,
    max_train_clips: int | None = None,
    eval_split: str | None = "dev",
    max_eval_clips: int | None = 64,
    letter_reader: str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Train a pose LM on ``corpus``'s train split and save it in ``output_dir``; returns its metrics (see the
    module docstring), also written to ``output_dir/metrics.json``."""
    tasks = resolve_tasks(strategy, tasks, pose_input)
    if not 0 < stage1_fraction < 1:
        raise ValueError(f"`stage1_fraction` must be in (0, 1), got {stage1_fraction}")
    started = time.perf_counter()
    splits = load_corpus(corpus)
    if "train" not in splits:
        raise ValueError(f"{corpus}: no train split (splits: {list(splits)})")
    train = select_clips(splits["train"], languages, max_clips=max_train_clips, seed=seed, name="train")
    if len(train) == 0:
        raise ValueError(f"{corpus}: no training clip for the languages {languages}")
    rows = list(train.with_format("numpy"))
    vq = PoseTokenizerAdapter.wrap(load_pose_tokenizer(pose_tokenizer))
    torch.manual_seed(seed)
    random.seed(seed)
    model, tokenizer = build_language_model(
        lm, [row["text"] for row in rows], d_model=d_model, layers=layers, heads=heads, vocab_size=vocab_size
    )
    vocabulary = add_pose_tokens(
        tokenizer, model, pose_tokenizer=vq.module, languages=sorted({r["language"] for r in rows})
    )
    encoder_decoder = bool(model.config.is_encoder_decoder)
    projector, codes = None, None
    if pose_input == "features":
        lm_hidden = model.get_input_embeddings().weight.shape[1]
        projector = PoseFeatureProjector(lm_hidden, frames_per_step=vq.downsample, hidden_size=2 * lm_hidden)
        frames = np.concatenate([np.asarray(r["pose"], np.float32).reshape(len(r["pose"]), -1) for r in rows])
        projector.set_statistics(frames.mean(axis=0), frames.std(axis=0))
        dataset = [{"pose": r["pose"], "language": r["language"], "text": r["text"]} for r in rows]
        collator = PoseFeatureCollator()
    else:
        steps = vocabulary.num_codebooks
        codes = [c[: max(steps, max_pose_tokens // steps * steps)] for c in corpus_codes(vq, rows)]
        dataset = build_examples(tokenizer, vocabulary, rows, codes, tasks, encoder_decoder)
        collator = PoseLMCollator(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
    if not dataset:
        raise ValueError(f"{corpus}: no training example for the tasks {list(tasks)}")

    def arguments(steps: int, budget: float | None, folder: str):
        return code_arguments(
            TrainingArguments, folder, max_steps=steps, batch_size=batch_size, learning_rate=learning_rate,
            seconds=budget, seed=seed, progress=progress, remove_unused_columns=False, max_grad_norm=1.0,
            label_names=["labels"], weight_decay=0.0,
        )  # fmt: skip

    def trainable(lm_model):
        return PoseFeatureTranslator(lm_model, tokenizer, projector) if projector is not None else lm_model

    metrics = {"strategy": strategy, "tasks": list(tasks), "lm": lm, "pose_input": pose_input, "lora_r": lora_r}
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage_steps, stage_seconds = max_steps, seconds
    total_steps = 0
    if strategy == "staged":
        (first_steps, stage_steps), (first_seconds, stage_seconds) = (
            _split_budget(max_steps, stage1_fraction),
            _split_budget(seconds, stage1_fraction),
        )
        hooks = freeze_for_alignment(model, vocabulary.first_pose_id, projector)
        trainer, _ = train_model(
            trainable(model), arguments(first_steps, first_seconds, str(out / "stage1")), dataset, collator,
            seconds=first_seconds, progress=progress, save=False,
        )  # fmt: skip
        for hook in hooks:
            hook.remove()
        model.requires_grad_(True)
        metrics["stage1"] = {"steps": trainer.state.global_step, "train_loss": _train_loss(trainer)}
        total_steps += trainer.state.global_step
    if projector is not None:
        projector.requires_grad_(True)
    lm_model = model
    if lora_r:
        save_pose_lm(out, model, tokenizer)  # the base: the adapter is added to these weights
        lm_model = apply_lora(model, lora_r, lora_alpha)
    trainer, _ = train_model(
        trainable(lm_model), arguments(stage_steps, stage_seconds, str(out)), dataset, collator,
        seconds=stage_seconds, progress=progress, save=False,
    )  # fmt: skip
    total_steps += trainer.state.global_step
    trained, parameters = count_parameters(trainable(lm_model))
    metrics |= {
        "steps": total_steps,
        "train_loss": _train_loss(trainer),
        "trainable_parameters": trained,
        "parameters": parameters,
        "examples": len(dataset),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    if trainer.is_world_process_zero():
        save_pose_lm(out, lm_model, tokenizer, pose_tokenizer=vq if projector is None else None, projector=projector)
        (out / ARGUMENTS_FILE).write_text(trainer.args.to_json_string() + "\n", encoding="utf-8")
    if eval_split and eval_split in splits:
        evaluation = select_clips(splits[eval_split], languages, max_clips=max_eval_clips, seed=seed, name=eval_split)
        evaluation_rows = [row for row in evaluation.with_format("numpy") if row["language"] in vocabulary.languages]
        if evaluation_rows:
            longest = max((len(c) for c in codes), default=max_pose_tokens) if codes else max_pose_tokens
            metrics[eval_split] = pose_lm_report(
                lm_model, tokenizer, evaluation_rows,
                directions=[task for task in tasks if task != "completion"],
                pose_tokenizer=vq, projector=projector, letter_reader=letter_reader,
                max_pose_tokens=min(max_pose_tokens, 2 * longest),
            )  # fmt: skip
    if trainer.is_world_process_zero():
        write_metrics(out, metrics)
    return metrics


def _train_loss(trainer) -> float | None:
    losses = [entry["train_loss"] for entry in trainer.state.log_history if "train_loss" in entry]
    return losses[-1] if losses else None


__all__ = [
    "PoseFeatureCollator",
    "PoseFeatureTranslator",
    "PoseLMCollator",
    "apply_lora",
    "build_examples",
    "build_language_model",
    "freeze_for_alignment",
    "lora_target_modules",
    "resolve_tasks",
    "train_pose_lm",
]
