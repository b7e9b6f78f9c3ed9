"""Train SignLLM on a corpus: the entry point of ``signllm train`` and ``recipes/train.py``.

    signllm train --config recipes/configs/tiny_cpu.yaml --dataset corpora/fingerspelling --output_dir runs/tiny
    accelerate launch recipes/train.py --config recipes/configs/base.yaml --dataset DATA --output_dir runs/base

A YAML config gives any field of the argument groups (``signllm_hf.training.arguments``); command-line flags override
it. The dataset is a folder written by this library (``signllm corpus ...``, ``signllm convert ...``) or a Prompt2Sign
/ Progressive Transformers folder of ``.skels`` files (then pass ``--skels_language``). The text tokenizer is trained
on the training text unless ``--tokenizer`` names one; the model's statistics come from the training data. At the end
the model, its tokenizer, its training arguments (``training_args.json``) and a model card (``README.md``) are saved
in ``output_dir`` (loadable with ``pipeline("text-to-pose")``); ``--output_dir`` is required.
``--resume_from_checkpoint true`` continues from the newest complete checkpoint there (one cut while being written is
skipped, with a warning).

With ``--mode prompt2langgloss`` the model is one shared group for every language and reads LangGloss (each clip's
gloss, or its text through the automatic gloss marker, as ``<ASL_sky>`` tokens, with a LangGloss vocabulary built from
the training split); then the prompt stage (prompt or text -> LangGloss, ``signllm_hf.modeling_prompt_stage``) is
trained on the same clips and saved in ``output_dir/prompt_to_langgloss``: the folder is a two-stage checkpoint for
``pipeline("text-to-pose")``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from transformers import AutoTokenizer, set_seed

from ..configuration_signllm import PRESETS, SignLLMConfig
from ..data.collator import SignLLMDataCollator
from ..data.corpora import load_corpus, select_clips
from ..data.corpora.letter_strings import LetterStringDataset, LetterStrings, Variation
from ..data.dataset import add_column, compute_pose_stats
from ..data.langgloss import is_langgloss_token, row_langgloss
from ..modeling_signllm import SignLLMForPoseGeneration
from ..tokenization_signllm import build_langgloss_tokenizer, train_text_tokenizer
from .arguments import DataArguments, ModelArguments, PromptStageArguments, SignLLMTrainingArguments
from .plc import LanguagePriority
from .prompt_stage import train_prompt_stage
from .scaffold import distributed_run, train_model, write_metrics
from .scaffold import parse_arguments as parse_yaml_and_flags
from .trainer import SignLLMTrainer, checkpoint_to_resume

logger = logging.getLogger(__name__)
ARGUMENT_GROUPS = (DataArguments, ModelArguments, SignLLMTrainingArguments, PromptStageArguments)
REQUIRED = {
    "dataset": "a corpus folder",
    "output_dir": "the folder the model, its checkpoints and metrics.json are written to",
}


def parse_arguments(argv: list[str] | None = None):
    """``(data, model, training, prompt_stage)`` arguments from ``--config FILE.yaml`` and the command line (wins).

    ``--dataset`` and ``--output_dir`` are required (`TrainingArguments` would write to ``./trainer_output``)."""
    return parse_yaml_and_flags(ARGUMENT_GROUPS, argv, required=REQUIRED)


def load_splits(data: DataArguments, max_frames: int | None = None):
    """The training and evaluation splits, restricted to ``languages``, clip counts and ``max_frames``."""
    folder = Path(data.dataset)
    splits = load_corpus(data.dataset, None, data.skels_language)
    if data.train_split not in splits:
        raise ValueError(f"{folder} has no {data.train_split!r} split; it has {list(splits)}")
    eval_split = None if data.eval_split in (None, "none") else data.eval_split
    if eval_split is not None and eval_split not in splits:
        logger.warning("%s has no %r split: training without evaluation", folder, eval_split)
        eval_split = None
    train = select_clips(splits[data.train_split], data.languages, max_frames, data.max_train_clips, name="train")
    if eval_split is None:
        return train, None
    # The model will only have the training split's languages.
    trained = sorted(set(train["language"]))  # not .unique(): it flattens indices, which fails on Array3D
    evaluation = select_clips(splits[eval_split], data.languages, name="eval")
    extra = sorted(set(evaluation["language"]) - set(trained))
    if extra:
        logger.warning("%s: evaluation clips in %s, which the training split lacks, are left out", folder, extra)
    evaluation = select_clips(evaluation, trained, max_frames, data.max_eval_clips, name="eval") if trained else []
    if len(evaluation) == 0:
        logger.warning("%s: no evaluation clip in the training languages: training without evaluation", folder)
        return train, None
    return train, evaluation


def build_model(model_args: ModelArguments, tokenizer, languages: list[str], stats: dict) -> SignLLMForPoseGeneration:
    """A new model for these languages and statistics (or the saved one, with any missing language added)."""
    if model_args.model_name_or_path:
        model = SignLLMForPoseGeneration.from_pretrained(model_args.model_name_or_path)
        for code in languages:
            if code not in model.config.languages:
                model.add_language(code)
        return model
    size_fields = ("d_model", "ffn_dim", "encoder_layers", "decoder_layers", "attention_heads")
    sizes = {name: getattr(model_args, name) for name in size_fields if getattr(model_args, name)}
    options = {
        "languages": languages,
        "mode": model_args.mode,
        "dropout": model_args.dropout,
        "max_frames": model_args.max_frames,
        "future_prediction": model_args.future_prediction,
        "gaussian_noise": model_args.model_gaussian_noise,
        "decoder_input": model_args.decoder_input,
        "counter_loss_weight": model_args.counter_loss_weight,
        "alignment": model_args.alignment,
        "decoding": model_args.decoding,
        "hand_loss_weight": model_args.hand_loss_weight,
        "velocity_loss_weight": model_args.velocity_loss_weight,
    } | sizes
    if model_args.text_encoder:
        preset = {k: v for k, v in PRESETS[model_args.preset].items() if k not in sizes}
        return SignLLMForPoseGeneration.from_text_encoder(model_args.text_encoder, **preset, **options)
    config = SignLLMConfig.from_preset(model_args.preset, vocab_size=len(tokenizer), **options)
    if sizes:  # no longer the preset's sizes: the paper-style name says "Custom"
        config.preset = None
    config.with_data_statistics(stats)
    return SignLLMForPoseGeneration(config)


def _with_langgloss(dataset):
    """The dataset with a ``langgloss`` column (from each clip's gloss, else its text), formatted as before."""
    glosses = dataset["gloss"] if "gloss" in dataset.column_names else [""] * len(dataset)
    rows = zip(dataset["language"], dataset["text"], glosses)
    values = [row_langgloss({"language": code, "text": text, "gloss": gloss}) for code, text, gloss in rows]
    return add_column(dataset, "langgloss", values)


def _check_langgloss_vocabulary(tokenizer, source) -> None:
    """A LangGloss model reads whole ``<TAG_gloss>`` tokens; a subword text tokenizer would cut them into pieces."""
    words = [token for token in tokenizer.get_vocab() if token not in tokenizer.all_special_tokens]
    if words and not all(is_langgloss_token(token) for token in words[:50]):
        raise ValueError(
            f"{source}: not a LangGloss vocabulary (tokens like <ASL_when>); leave --tokenizer out in "
            "prompt2langgloss mode and one is built from the corpus"
        )


def choose_tokenizer(data: DataArguments, model_args: ModelArguments, train_set, resume: str | None):
    """The text tokenizer of the run, the first that applies:

    1. the checkpoint's being resumed (the run's own);
    2. the saved model's being continued (its embeddings were trained on its ids: ``--tokenizer`` is ignored);
    3. ``--tokenizer``;
    4. the pretrained ``--text_encoder``'s;
    5. a new one: a LangGloss vocabulary of the training split (prompt2langgloss), else one trained on its text.
    """
    langgloss = model_args.mode == "prompt2langgloss"
    saved = model_args.model_name_or_path
    if resume is not None and (Path(resume) / "tokenizer.json").is_file():
        tokenizer, source = AutoTokenizer.from_pretrained(resume), resume
    elif saved and (Path(saved) / "tokenizer.json").is_file():
        if data.tokenizer:
            logger.warning("--tokenizer %s ignored: %s is trained on its own tokenizer", data.tokenizer, saved)
        tokenizer, source = AutoTokenizer.from_pretrained(saved), saved
    elif data.tokenizer:
        tokenizer, source = AutoTokenizer.from_pretrained(data.tokenizer), data.tokenizer
    elif model_args.text_encoder:
        if langgloss:
            raise ValueError("prompt2langgloss reads LangGloss tokens: a pretrained text encoder does not apply")
        return AutoTokenizer.from_pretrained(model_args.text_encoder)
    elif langgloss:
        return build_langgloss_tokenizer(train_set["langgloss"])
    else:
        return train_text_tokenizer(train_set["text"], vocab_size=data.tokenizer_vocab_size)
    if langgloss:
        _check_langgloss_vocabulary(tokenizer, source)
    return tokenizer


def train(
    data: DataArguments,
    model_args: ModelArguments,
    training_args: SignLLMTrainingArguments,
    prompt_stage: PromptStageArguments | None = None,
    callbacks=(),
    on_trainer=None,
    seconds: float | None = None,
    progress: bool = True,
) -> dict:
    """Train, evaluate and save; returns the final metrics (also in ``output_dir/metrics.json``).

    ``callbacks`` are added to the trainer's; ``on_trainer`` (optional) is called with the built
    :class:`SignLLMTrainer` before training starts, for callers that need it (e.g. to evaluate mid-training);
    ``seconds`` bounds the training time (with a progress bar of it). In ``prompt2langgloss`` mode the prompt stage
    follows (``prompt_stage``: its arguments, defaults if None).
    """
    langgloss = model_args.mode == "prompt2langgloss"
    prompt_stage = prompt_stage or PromptStageArguments()
    train_set, eval_set = load_splits(data, model_args.max_frames)
    if len(train_set) == 0:
        raise ValueError(f"{data.dataset}: the {data.train_split!r} split has no clip for the chosen languages")
    if langgloss:
        train_set = _with_langgloss(train_set)
        eval_set = _with_langgloss(eval_set) if eval_set is not None else None
    strings = None
    if data.letter_strings or model_args.alignment == "duration":
        if langgloss:
            raise ValueError("--letter_strings and --alignment duration spell plain text: use them with --mode mlsf")
        strings = _letter_strings(data, sorted(set(train_set["language"])), float(train_set[0]["fps"]), training_args)
    if model_args.alignment == "duration":  # the frames each character is signed in, from the lexicon's spelling
        train_set = _with_char_durations(train_set, strings, "train")
        eval_set = _with_char_durations(eval_set, strings, "eval") if eval_set is not None else None
    resume = checkpoint_to_resume(training_args, training_args.resume_from_checkpoint)
    saved = model_args.model_name_or_path
    if saved:  # continuing a saved model: its mode and its vocabulary, or its embeddings read the wrong ids
        saved_mode = SignLLMConfig.from_pretrained(saved).mode
        if saved_mode != model_args.mode:
            raise ValueError(f"{saved} is a {saved_mode!r} model: pass --mode {saved_mode} to continue training it")
    tokenizer = choose_tokenizer(data, model_args, train_set, resume)
    languages = sorted(set(train_set["language"]))  # not .unique(): it flattens indices, which fails on Array3D
    stats = compute_pose_stats(train_set) | {"fps": float(train_set[0]["fps"])}
    set_seed(training_args.seed)  # the model's initial weights follow --seed, as the Trainer's data order does
    model = build_model(model_args, tokenizer, languages, stats)
    if len(tokenizer) > model.config.vocab_size:
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} tokens but the model reads {model.config.vocab_size}: continue a "
            "saved model with its own tokenizer"
        )
    if eval_set is None and training_args.eval_strategy != "no":
        training_args.eval_strategy = "no"
    collator = SignLLMDataCollator(
        tokenizer=tokenizer,
        text_column="langgloss" if langgloss else "text",
        max_text_length=model.config.max_text_length,
    )
    training_data = train_set
    if data.letter_strings:  # an endless stream instead of the corpus's clips (the corpus gave the statistics)
        training_data = letter_string_stream(strings, training_args)
    trainer, metrics = train_model(
        model,
        training_args,
        training_data,
        collator,
        tokenizer,
        trainer_class=SignLLMTrainer,
        eval_dataset=eval_set,
        seconds=seconds if seconds is not None else training_args.train_seconds,
        progress=progress,
        callbacks=callbacks,
        resume_from_checkpoint=resume,
        on_trainer=on_trainer,
        dataset=data.dataset,
    )
    stage_one = Path(training_args.output_dir) / "prompt_to_langgloss"
    if langgloss and prompt_stage.prompt_stage_steps <= 0 and stage_one.is_dir():
        logger.warning(
            "%s is from an earlier run: retrain it (--prompt_stage_steps > 0) if the corpus changed", stage_one
        )
    if langgloss and prompt_stage.prompt_stage_steps > 0:
        metrics |= _train_prompt_stage(prompt_stage, train_set, eval_set, tokenizer, training_args)
    if trainer.is_world_process_zero():
        metrics["steps"] = trainer.state.global_step
        metrics["model"] = trainer.model.paper_name()
        metrics["world_size"] = training_args.world_size
        if trainer.language_priority is not None:  # how the steps were shared between the languages
            metrics["language_priority"] = trainer.language_priority.summary()
        write_metrics(training_args.output_dir, metrics)
    return metrics


def _letter_strings(data: DataArguments, languages: list[str], fps: float, training_args) -> LetterStrings:
    """The lexicon's letter strings for these languages: the stream of ``--letter_strings`` (timing varied, training
    words only) and the spelling that gives corpus clips their ``char_durations``."""
    try:
        return LetterStrings(
            data.lexicon,
            languages=languages,
            fps=fps,
            word_fraction=data.letter_strings_word_fraction,
            variation=Variation.signer(),
            seed=training_args.seed,
        )
    except ValueError as error:
        raise ValueError(
            f"{data.dataset}: {error} (--letter_strings and --alignment duration need a lexicon)"
        ) from None


def letter_string_stream(strings: LetterStrings, training_args) -> LetterStringDataset:
    """The endless letter-string stream, set up for the Trainer under any number of processes.

    Every process draws the same stream and keeps its own slice of each chunk of ``processes x batch size`` rows
    (accelerate's ``IterableDatasetShard``, with ``dispatch_batches`` off: dispatching would concatenate batches
    of different lengths), so no two processes see the same rows; with ``language_batches`` a chunk is one
    language, so all processes train the same group in a step, as the PLC sampler arranges for datasets.
    """
    if training_args.max_steps is None or training_args.max_steps <= 0:
        raise ValueError(
            "--letter_strings streams without end: pass --max_steps (with --train_seconds, any large number)"
        )
    if training_args.accelerator_config is not None:
        training_args.accelerator_config.dispatch_batches = False
    chunk = training_args.per_device_train_batch_size * max(training_args.world_size, 1)
    priority = None
    if training_args.language_priority > 0:
        priority = LanguagePriority(strings.languages, eta=training_args.language_priority)
    return LetterStringDataset(
        strings, batch_size=chunk, language_batches=training_args.language_batches, language_priority=priority
    )


def _with_char_durations(dataset, strings: LetterStrings, name: str):
    """``dataset`` with the frames each character of each clip's text is signed in (``char_durations``), from
    spelling it again with the lexicon; a clip that the lexicon does not spell to the same length is an error."""
    if "char_durations" in dataset.column_names:
        return dataset
    rows = dataset.select_columns(["id", "language", "text", "pose"])
    durations = [strings.with_durations(row)["char_durations"] for row in rows]
    unspelled = [row_id for row_id, value in zip(dataset["id"], durations) if value is None]
    if unspelled:
        raise ValueError(
            f"--alignment duration: {len(unspelled)} {name} clip(s) (e.g. {unspelled[:3]}) are not spelled with the "
            "lexicon's letter clips, so their letters' frames are unknown; duration alignment needs a fingerspelling "
            "corpus built from this lexicon, or a `char_durations` column"
        )
    return add_column(dataset, "char_durations", durations)


def _train_prompt_stage(arguments: PromptStageArguments, train_set, eval_set, tokenizer, training_args) -> dict:
    text_columns = [name for name in ("id", "language", "text", "gloss") if name in train_set.column_names]
    rows = train_set.select_columns(text_columns).with_format(None).to_list()
    eval_rows = eval_set.select_columns(text_columns).with_format(None).to_list() if eval_set is not None else None
    return train_prompt_stage(
        rows,
        training_args.output_dir,
        tokenizer,
        eval_rows=eval_rows,
        d_model=arguments.prompt_stage_d_model,
        layers=arguments.prompt_stage_layers,
        source_vocab_size=arguments.prompt_stage_vocab_size,
        prompts_per_clip=arguments.prompts_per_clip,
        max_steps=arguments.prompt_stage_steps,
        seconds=arguments.prompt_stage_seconds,
        batch_size=arguments.prompt_stage_batch_size,
        learning_rate=arguments.prompt_stage_learning_rate,
        seed=training_args.seed,
        progress=not training_args.disable_tqdm,
        use_cpu=training_args.use_cpu,
    )


def main(argv: list[str] | None = None) -> dict:
    """``signllm train`` / ``recipes/train.py``: parse the arguments, train; under ``accelerate launch`` the
    process group that parsing set up ends with the run (:func:`~signllm_hf.training.scaffold.distributed_run`)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with distributed_run():
        arguments = parse_arguments(argv)
        training_args = next((group for group in arguments if isinstance(group, SignLLMTrainingArguments)), None)
        # No progress bars (no terminal, --disable_tqdm): a line per log, also under a --train_seconds budget.
        bars = {} if training_args is None else {"progress": not training_args.disable_tqdm}
        metrics = train(*arguments, **bars)
    if "model" in metrics and training_args is not None:  # the main process: one line saying what it saved where
        print(f"saved {metrics['model']} ({metrics['steps']} steps) to {training_args.output_dir}", flush=True)
    return metrics


if __name__ == "__main__":
    main()
