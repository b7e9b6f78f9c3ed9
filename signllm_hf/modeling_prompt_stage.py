"""Prompt2LangGloss, stage 1 (the prompt stage): a prompt or a text -> LangGloss, a standard transformers
encoder-decoder. Its training is ``signllm_hf.training.prompt_stage``, its scores ``signllm_hf.evaluation.langgloss``.

The paper's second multilingual mode runs two stages: this one turns "How do I sign 'the sky is blue' in DGS?" into
``<GSL_sky> <GSL_blue> ...``, and the SignLLM model in ``prompt2langgloss`` mode (one shared group for every language)
turns that into poses. Stage 1 is an ``EncoderDecoderModel`` (BERT-style encoder and decoder, built from configs, no
download): the encoder reads the prompt with a byte-level tokenizer (any script, letters as tokens), the decoder
writes ids of the LangGloss vocabulary, the same vocabulary stage 2 reads, so nothing is re-tokenised in between.
It is trained with transformers' ``Seq2SeqTrainer`` on (prompt, LangGloss) pairs made from a corpus.

The language: the prompt's source is prefixed with the language's tag (``<GSL> Wie gebärdet man ...``). It is the
one the user passes, or else the one the prompt names ("in DGS", "in Deutscher Gebärdensprache"; see
``named_languages``); a prompt that names none, or several, is an error rather than a guess, and LangGloss tokens of
any other language that stage 1 writes are dropped.

A Prompt2LangGloss checkpoint is the stage-2 model's folder with stage 1 in its ``prompt_to_langgloss/`` sub-folder.

Example:
    >>> from signllm_hf.modeling_prompt_stage import prompt_language, source_text
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

from .data.langgloss import langgloss_tag, named_languages, split_langgloss
from .data.languages import canonical_language

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
            )
        return cls(model, source_tokenizer, langgloss_tokenizer)

    def save_pretrained(self, path: str) -> None:
        """Save stage 1 into a Prompt2LangGloss checkpoint folder (the LangGloss tokenizer goes to its root)."""
        self.model.save_pretrained(str(Path(path) / STAGE1_FOLDER))
        self.source_tokenizer.save_pretrained(str(Path(path) / STAGE1_FOLDER))
        self.langgloss_tokenizer.save_pretrained(str(path))

    @torch.no_grad()
    def __call__(
        self, prompts: list[str], languages: list[str], num_beams: int = 1, batch_size: int = 32, as_written=False
    ) -> list[str]:
        """The LangGloss of each prompt in its language; tokens of other languages are dropped (with a warning),
        unless ``as_written``: then each sequence is returned as stage 1 wrote it (see :func:`keep_language`)."""
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
            if as_written:
                results.extend(decoded)
            else:
                results.extend(keep_language(sequence, language) for sequence, (_, language) in zip(decoded, chunk))
        return results


def nothing_to_sign(prompt: str, written: str, language: str) -> str:
    """Why stage 1 gave nothing to sign for ``prompt`` (it wrote ``written``), and what to do: the message of the
    pipeline's error. A prompt's sentence may be quoted or not; what decides is whether stage 1 learned its words.

    >>> print(nothing_to_sign("How do I sign 'the sky is blue' in DGS?", "", "gsg"))  # doctest: +ELLIPSIS
    found nothing to sign in ...: the prompt stage wrote no LangGloss at all. It signs the words of its training...
    """
    code = canonical_language(language)
    if written.strip():
        what = f"the prompt stage wrote LangGloss of other languages only ({written.strip()[:60]!r}), none in {code}"
    else:
        what = "the prompt stage wrote no LangGloss at all"
    hint = (
        f"found nothing to sign in {prompt[:80]!r}: {what}. It signs the words of its training corpus (in a prompt "
        "or as a plain sentence with language=); words it never saw, or a prompt stage trained for too few steps "
        "(`prompt_stage_steps`), give nothing"
    )
    if named_languages(prompt) and not any(mark in prompt for mark in "'\"‘’“”„«»"):
        hint += "; put the sentence in quotes: \"How do I sign 'the sky is blue' in ASL?\""
    return hint


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


__all__ = [
    "STAGE1_FOLDER",
    "PromptToLangGloss",
    "keep_language",
    "language_prefix",
    "make_prompt_model",
    "nothing_to_sign",
    "prompt_language",
    "source_text",
]
