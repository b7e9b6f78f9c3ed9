"""Training the prompt stage of Prompt2LangGloss (prompt or text -> LangGloss), through the library's scaffold.

Its pairs come from a corpus: each clip's text, and its text wrapped in prompt templates of its sign language's
spoken language and of English (the train part of the templates; evaluation uses the held-out part), each with the
clip's LangGloss as target. The model is :func:`signllm_hf.modeling_prompt_stage.make_prompt_model`, trained with
transformers' ``Seq2SeqTrainer`` and saved in the checkpoint's ``prompt_to_langgloss/`` sub-folder.

Example:
    >>> from signllm_hf.training.prompt_stage import langgloss_pairs
    >>> pairs = langgloss_pairs([{"id": "a", "language": "ase", "text": "the sky", "gloss": ""}], prompts_per_clip=1)
    >>> pairs[0]["source"], pairs[0]["target"]
    ('<ASL> the sky', '<ASL_the> <ASL_sky>')
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments, set_seed

from ..data.langgloss import row_langgloss
from ..data.prompts import make_prompt
from ..evaluation.langgloss import langgloss_evaluation
from ..modeling_prompt_stage import (
    STAGE1_FOLDER,
    PromptToLangGloss,
    language_prefix,
    make_prompt_model,
    source_text,
)
from ..tokenization_signllm import train_text_tokenizer
from .scaffold import code_arguments, train_model


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
            sources.append(
                make_prompt(
                    row["text"],
                    language,
                    seed=seed,
                    key=f"{row['id']}|{index}",
                    spoken_language=spoken,
                    split=template_split,
                )
            )
        pairs.extend({"source": source_text(s, language), "target": target, "language": language} for s in sources)
    return pairs


def train_prompt_stage(
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
    # Saved into the checkpoint's sub-folder with its source tokenizer; the LangGloss tokenizer is the checkpoint's.
    args = code_arguments(
        Seq2SeqTrainingArguments,
        str(Path(output_dir) / STAGE1_FOLDER),
        max_steps=max_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seconds=seconds,
        seed=seed,
        progress=progress,
        use_cpu=use_cpu,
    )
    collator = DataCollatorForSeq2Seq(source_tokenizer, model=model, label_pad_token_id=-100)
    trainer, _ = train_model(
        model,
        args,
        dataset,
        collator,
        source_tokenizer,
        trainer_class=Seq2SeqTrainer,
        seconds=seconds,
        progress=progress,
        callbacks=callbacks or (),
    )
    stage = PromptToLangGloss(trainer.accelerator.unwrap_model(trainer.model), source_tokenizer, langgloss_tokenizer)
    metrics = {"prompt_stage_steps": trainer.state.global_step}
    if trainer.is_world_process_zero():
        langgloss_tokenizer.save_pretrained(output_dir)
        if eval_rows is not None and len(eval_rows):
            metrics |= {f"prompt_stage_{k}": v for k, v in langgloss_evaluation(stage, eval_rows)["overall"].items()}
    return metrics
