"""Prompt2LangGloss, stage 1: a prompt or a text -> LangGloss, with a standard transformers encoder-decoder.

The paper's second multilingual mode runs two stages: this one turns "How do I sign 'the sky is blue' in DGS?" into
``<GSL_sky> <GSL_blue> ...``, and the SignLLM model in ``prompt2langgloss`` mode (one shared group for every language)
turns that into poses. Stage 1 is an ``EncoderDecoderModel`` (BERT-style encoder and decoder, built from configs, no
download): the encoder reads the prompt with a byte-level tokenizer (any script, letters as tokens), the decoder
writes ids of the LangGloss vocabulary, the same vocabulary stage 2 reads, so nothing is re-tokenised in between.
It is trained with transformers' ``Seq2SeqTrainer`` on (prompt, LangGloss) pairs made from a corpus: each clip's
text, and its text wrapped in prompt templates of its sign language's spoken language and of English (the train
part of the templates; evaluation uses the held-out part).

The language: the prompt's source is prefixed with the language's tag (``<GSL> Wie gebärdet man ...``). It is the
one the user passes, or else the one the prompt names ("in DGS", "in Deutscher Gebärdensprache"; see
``named_languages``); a prompt that names none, or several, is an error rather than a guess, and LangGloss tokens of
any other language that stage 1 writes are dropped.

A Prompt2LangGloss checkpoint is the stage-2 model's folder with stage 1 in its ``prompt_to_langgloss/`` sub-folder.

Example:
    >>> from signllm_hf.prompt2langgloss import prompt_language, source_text
    >>> prompt_language("How do I sign 'the sky is blue' in DGS?")
    'gsg'
    >>> source_text("the sky is blue", "ASL")
    '<ASL> the sky is blue'
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, EncoderDecoderConfig, EncoderDecoderModel

from .data.langgloss import langgloss_tag, named_languages, row_langgloss, split_langgloss
from .data.languages import canonical_language
from .data.prompts import make_prompt

logger = logging.getLogger(__name__)
STAGE1_FOLDER = "prompt_to_langgloss"


def language_prefix(language: str) -> str:
    """The source-side tag of a language: ``<ASL>``."""
    return f"<{langgloss_tag(language)}>"


def source_text(prompt: str, language: str) -> str:
    """What stage 1 reads: the language's tag, then the prompt or text."""
    return f"{language_prefix(language)} {prompt.strip()}"


def prompt_language(prompt: str, language: str | None = None) -> str:
    """The sign language to sign a prompt in: ``language`` when given, else the one the prompt names."""
    named = named_languages(prompt)
    if language is not None:
        code = canonical_language(language)
        if named and code not in named:
            logger.warning("the prompt names %s but language=%r was passed: signing in %s", named, language, code)
        return code
    if len(named) == 1:
        return named[0]
    if not named:
        raise ValueError(
            f"the prompt names no sign language I know: {prompt[:80]!r}; name it (e.g. '... in ASL') or pass language="
        )
    raise ValueError(f"the prompt names several sign languages {named}: pass language= to choose one")


def langgloss_pairs(
    rows, *, prompts_per_clip: int = 2, plain_text: bool = True, template_split: str | None = "train", seed: int = 0
) -> list[dict]:
    """(source, target) pairs for stage 1 from corpus rows (dicts with ``id``, ``language``, ``text``, ``gloss``):
    the plain text and ``prompts_per_clip`` prompts per clip, each with the clip's LangGloss as target.

    Prompts alternate between the language's own spoken language and English (people ask "How do I sign '...' in
    DGS?" as often as "Wie gebärdet man ...?"); clips without text get no pair."""
    pairs = []
    for row in rows:
        language, target = row["language"], row_langgloss(row)
        if not target or not (row.get("text") or "").strip():
            continue
        sources = [row["text"]] if plain_text else []
        for index in range(prompts_per_clip):
            spoken = "en" if index % 2 else None
            sources.append(make_prompt(row["text"], language, seed=seed, key=f"{row['id']}|{index}",
                                       spoken_language=spoken, split=template_split))  # fmt: skip
        pairs.extend({"source": source_text(s, language), "target": target, "language": language} for s in sources)
    return pairs


def make_prompt_model(
    source_tokenizer,
    langgloss_tokenizer,
    d_model: int = 256,
    layers: int = 3,
    heads: int = 4,
    max_source_length: int = 512,
    max_target_length: int = 128,
) -> EncoderDecoderModel:
    """A new stage-1 model: BERT-style encoder over the source vocabulary, decoder over the LangGloss vocabulary."""
    common = {
        "hidden_size": d_model,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": 4 * d_model,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
    }
    encoder = BertConfig(
        vocab_size=len(source_tokenizer),
        max_position_embeddings=max_source_length,
        pad_token_id=source_tokenizer.pad_token_id,
        **common,
    )
    decoder = BertConfig(
        vocab_size=len(langgloss_tokenizer),
        max_position_embeddings=max_target_length,
        pad_token_id=langgloss_tokenizer.pad_token_id,
        is_decoder=True,
        add_cross_attention=True,
        **common,
    )
    config = EncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    # Both tokenizers put <pad> 0, <s> 1, </s> 2: the decoder starts from <s> and stops at </s>.
    config.decoder_start_token_id = langgloss_tokenizer.bos_token_id
    config.pad_token_id = langgloss_tokenizer.pad_token_id
    config.eos_token_id = langgloss_tokenizer.eos_token_id
    model = EncoderDecoderModel(config=config)
    generation = model.generation_config
    generation.decoder_start_token_id = config.decoder_start_token_id
    generation.bos_token_id = langgloss_tokenizer.bos_token_id
    generation.pad_token_id, generation.eos_token_id = config.pad_token_id, config.eos_token_id
    generation.max_new_tokens = max_target_length - 1
    return model


class PromptToLangGloss:
    """Stage 1 at inference: prompts (or texts) and their languages in, LangGloss sequences out.

    Load it from a Prompt2LangGloss checkpoint folder (``from_pretrained(DIR)``: the model and source tokenizer from
    ``DIR/prompt_to_langgloss``, the LangGloss tokenizer from ``DIR``).
    """

    def __init__(self, model: EncoderDecoderModel, source_tokenizer, langgloss_tokenizer):
        self.model = model.eval()
        self.source_tokenizer, self.langgloss_tokenizer = source_tokenizer, langgloss_tokenizer

    @classmethod
    def from_pretrained(cls, path: str, device: str | torch.device | None = None) -> PromptToLangGloss:
        """Stage 1 of a checkpoint: a local folder or a Hub repository id (``subfolder`` loading)."""
        folder = Path(path) / STAGE1_FOLDER
        if Path(path).is_dir() and not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder}: no prompt stage there; a Prompt2LangGloss checkpoint keeps its stage 1 in this sub-folder "
                f"(`signllm train --mode prompt2langgloss` writes both)"
            )
        model = EncoderDecoderModel.from_pretrained(str(path), subfolder=STAGE1_FOLDER)
        if device is not None:
            model = model.to(device)
        source_tokenizer = AutoTokenizer.from_pretrained(str(path), subfolder=STAGE1_FOLDER)
        langgloss_tokenizer = AutoTokenizer.from_pretrained(str(path))
        if len(langgloss_tokenizer) != model.config.decoder.vocab_size:
            raise ValueError(
                f"{path}: stage 1 writes {model.config.decoder.vocab_size} LangGloss ids but the checkpoint's "
                f"LangGloss vocabulary has {len(langgloss_tokenizer)}: stage 1 is from an older run; retrain it "
                "(`signllm train --mode prompt2langgloss` with --prompt_stage_steps > 0)"
            )  # fmt: skip
        return cls(model, source_tokenizer, langgloss_tokenizer)

    def save_pretrained(self, path: str) -> None:
        """Save stage 1 into a Prompt2LangGloss checkpoint folder (the LangGloss tokenizer goes to its root)."""
        self.model.save_pretrained(str(Path(path) / STAGE1_FOLDER))
        self.source_tokenizer.save_pretrained(str(Path(path) / STAGE1_FOLDER))
        self.langgloss_tokenizer.save_pretrained(str(path))

    @torch.no_grad()
    def __call__(
        self, prompts: list[str], languages: list[str], num_beams: int = 1, batch_size: int = 32
    ) -> list[str]:
        """The LangGloss of each prompt in its language; tokens of other languages are dropped (with a warning)."""
        if len(prompts) != len(languages):
            raise ValueError(f"{len(prompts)} prompts but {len(languages)} languages")
        results = []
        for start in range(0, len(prompts), batch_size):
            chunk = list(zip(prompts[start : start + batch_size], languages[start : start + batch_size]))
            sources = [source_text(prompt, language) for prompt, language in chunk]
            encoded = self.source_tokenizer(sources, padding=True, truncation=True, return_tensors="pt")
            device = self.model.device
            generated = self.model.generate(
                input_ids=encoded["input_ids"].to(device),
                attention_mask=encoded["attention_mask"].to(device),
                num_beams=num_beams,
            )
            decoded = self.langgloss_tokenizer.batch_decode(generated, skip_special_tokens=True)
            results.extend(keep_language(sequence, language) for sequence, (_, language) in zip(decoded, chunk))
        return results


def keep_language(sequence: str, language: str) -> str:
    """The tokens of ``sequence`` in ``language`` (others, and anything that is not LangGloss, dropped)."""
    code, kept, dropped = canonical_language(language), [], []
    for token in sequence.split():
        try:
            ((token_language, _),) = split_langgloss(token)
        except ValueError:
            token_language = None
        (kept if token_language == code else dropped).append(token)
    if dropped:
        logger.warning("stage 1 wrote %d token(s) outside %s, dropped: %s", len(dropped), code, dropped[:5])
    return " ".join(kept)


def train_prompt_model(
    train_rows,
    output_dir: str,
    langgloss_tokenizer,
    *,
    eval_rows=None,
    d_model: int = 256,
    layers: int = 3,
    source_vocab_size: int = 260,
    prompts_per_clip: int = 2,
    max_steps: int = 3000,
    seconds: float | None = None,
    batch_size: int = 32,
    learning_rate: float = 5e-4,
    seed: int = 0,
    progress: bool = True,
    callbacks=None,
    use_cpu: bool | None = None,
) -> dict:
    """Train stage 1 on ``train_rows`` and save it into the checkpoint folder ``output_dir``; returns its scores.

    The source tokenizer is trained on the pairs' sources (``source_vocab_size=260``: bytes, every letter a token,
    so any script and any spelling is read; the decoder writes whole LangGloss tokens of the corpus's vocabulary,
    so a word the corpus never glossed cannot come out); every language of the rows gets its ``<TAG>`` prefix token.
    Training uses ``Seq2SeqTrainer`` (under ``accelerate launch`` on every process) and stops at
    ``max_steps`` or after ``seconds``. With ``eval_rows``, the scores of :func:`langgloss_evaluation` on them.
    """
    from datasets import Dataset  # noqa: PLC0415 - training-only imports
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments, set_seed  # noqa: PLC0415

    from .tokenization_signllm import train_text_tokenizer  # noqa: PLC0415
    from .training import StopAfter  # noqa: PLC0415

    pairs = langgloss_pairs(train_rows, prompts_per_clip=prompts_per_clip, seed=seed)
    if not pairs:
        raise ValueError("no training clip with a LangGloss (text or gloss) for the prompt stage")
    languages = sorted({pair["language"] for pair in pairs})
    source_tokenizer = train_text_tokenizer(
        [pair["source"] for pair in pairs],
        vocab_size=source_vocab_size,
        max_length=512,
        extra_special_tokens=map(language_prefix, languages),
    )
    set_seed(seed)
    model = make_prompt_model(source_tokenizer, langgloss_tokenizer, d_model=d_model, layers=layers)

    def encode(batch):
        sources = source_tokenizer(batch["source"], truncation=True)
        targets = langgloss_tokenizer(batch["target"], truncation=True)
        return {
            "input_ids": sources["input_ids"],
            "attention_mask": sources["attention_mask"],
            "labels": targets["input_ids"],
        }

    dataset = Dataset.from_list(pairs).map(encode, batched=True, remove_columns=["source", "target", "language"])
    args = Seq2SeqTrainingArguments(
        output_dir=str(Path(output_dir) / "prompt_stage_checkpoints"),
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=min(100, max_steps // 20),
        lr_scheduler_type="constant_with_warmup" if seconds else "linear",
        logging_steps=max(max_steps // 20, 1),
        save_strategy="no",
        report_to=[],
        disable_tqdm=not progress or seconds is not None,
        seed=seed,
        use_cpu=not torch.cuda.is_available() if use_cpu is None else use_cpu,  # as stage 2 (--use_cpu)
    )
    collator = DataCollatorForSeq2Seq(source_tokenizer, model=model, label_pad_token_id=-100)
    trainer = Seq2SeqTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=collator,
        processing_class=source_tokenizer,
        callbacks=[StopAfter(seconds, progress=progress), *(callbacks or [])],
    )
    trainer.train()
    scratch = Path(args.output_dir)
    if trainer.is_world_process_zero() and scratch.is_dir() and not any(scratch.iterdir()):
        scratch.rmdir()  # nothing saved there (save_strategy="no"): leave no empty folder in the checkpoint
    stage = PromptToLangGloss(trainer.accelerator.unwrap_model(trainer.model), source_tokenizer, langgloss_tokenizer)
    metrics = {"prompt_stage_steps": trainer.state.global_step}
    if trainer.is_world_process_zero():
        stage.save_pretrained(output_dir)
        if eval_rows is not None and len(eval_rows):
            metrics |= {f"prompt_stage_{k}": v for k, v in langgloss_evaluation(stage, eval_rows)["overall"].items()}
    return metrics


def langgloss_evaluation(stage: PromptToLangGloss, rows, template_split: str = "heldout", seed: int = 1) -> dict:
    """The paper's Table 8 for stage 1 on held-out clips: LangGloss written from prompts (in templates not seen in
    training) against the LangGloss written from the plain text (how much a prompt loses), and both against the
    corpus's own LangGloss. Per language and overall: exact-match rates (%), BLEU-4 and ROUGE-L; ``all`` holds every
    clip's prompt and outputs, ``examples`` the first eight."""
    from .metrics.text_scores import text_scores  # noqa: PLC0415

    rows = [row for row in rows if (row.get("text") or "").strip()]  # a prompt needs a sentence to wrap
    if not any(row_langgloss(row) for row in rows):
        raise ValueError("no clip with a LangGloss (text or gloss) to evaluate the prompt stage on")
    languages = [row["language"] for row in rows]
    gold = [row_langgloss(row) for row in rows]
    prompts = [
        make_prompt(row["text"], row["language"], seed=seed, key=row["id"], split=template_split) for row in rows
    ]
    from_text = stage([row["text"] for row in rows], languages)
    from_prompt = stage(prompts, languages)

    def scores(chosen: list[int]) -> dict:
        pick = lambda values: [values[i] for i in chosen]  # noqa: E731
        exact = lambda a, b: 100 * sum(x == y for x, y in zip(pick(a), pick(b))) / len(chosen)  # noqa: E731
        prompt_vs_text = text_scores(pick(from_prompt), pick(from_text), tokenize="none")
        text_vs_gold = text_scores(pick(from_text), pick(gold), tokenize="none")
        prompt_vs_gold = text_scores(pick(from_prompt), pick(gold), tokenize="none")
        return {
            "clips": len(chosen),
            "exact_text": exact(from_text, gold),
            "exact_prompt": exact(from_prompt, gold),
            "bleu4_text": text_vs_gold["bleu4"],
            "bleu4_prompt": prompt_vs_gold["bleu4"],
            "rouge_l_text": text_vs_gold["rouge_l"],
            "rouge_l_prompt": prompt_vs_gold["rouge_l"],
            "bleu4_prompt_vs_text": prompt_vs_text["bleu4"],
            "rouge_l_prompt_vs_text": prompt_vs_text["rouge_l"],
        }

    result = {"overall": scores(list(range(len(rows)))), "per_language": {}}
    for code in sorted(set(languages)):
        result["per_language"][code] = scores([i for i, language in enumerate(languages) if language == code])
    result["all"] = [{"prompt": p, "from_prompt": a, "from_text": b, "reference": g}
                     for p, a, b, g in zip(prompts, from_prompt, from_text, gold)]  # fmt: skip
    result["examples"] = [
        {"prompt": p, "from_prompt": a, "from_text": b, "reference": g}
        for p, a, b, g in list(zip(prompts, from_prompt, from_text, gold))[:8]
    ]
    return result


__all__ = [
    "PromptToLangGloss",
    "STAGE1_FOLDER",
    "keep_language",
    "langgloss_evaluation",
    "langgloss_pairs",
    "make_prompt_model",
    "prompt_language",
    "source_text",
    "train_prompt_model",
]
