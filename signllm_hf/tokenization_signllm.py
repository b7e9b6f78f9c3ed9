"""Tokenizers for SignLLM, built offline with the ``tokenizers`` library and saved with the model.

``train_text_tokenizer`` learns a byte-level BPE vocabulary from a corpus's text (any script: byte-level means no
unknown characters), with NFKC normalisation, optional lowercasing, and ``</s>`` appended to every sequence. The
special ids match ``SignLLMConfig``'s defaults: ``<pad>`` 0, ``<s>`` 1, ``</s>`` 2, ``<unk>`` 3. The result is a
plain ``PreTrainedTokenizerFast``: ``save_pretrained`` writes ``tokenizer.json`` next to the model, and
``AutoTokenizer.from_pretrained`` loads it anywhere, with or without signllm-hf.

``build_langgloss_tokenizer`` makes the vocabulary of LangGloss tokens (``<ASL_when>``, see
``signllm_hf.data.langgloss``) of a corpus: one id per token, case preserved, split on spaces only, so one word in two
sign languages gets two ids; tokens outside the vocabulary become ``<unk>``.

Example:
    >>> from signllm_hf.tokenization_signllm import train_text_tokenizer
    >>> tokenizer = train_text_tokenizer(["the sky is blue", "am meer wird es freundlich"], vocab_size=300)
    >>> ids = tokenizer("The sky")["input_ids"]
    >>> ids[-1] == tokenizer.eos_token_id, tokenizer.decode(ids, skip_special_tokens=True).strip()
    (True, 'the sky')
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from .data.langgloss import is_langgloss_token

SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>")  # ids 0, 1, 2, 3


def train_text_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 8000,
    lowercase: bool = True,
    max_length: int = 128,
    extra_special_tokens: Iterable[str] = (),
) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts`` (at most ``vocab_size`` tokens, fewer for small corpora).

    ``vocab_size=260`` keeps only the bytes: every letter is a token (what fingerspelling needs).
    ``extra_special_tokens`` (e.g. language tags such as ``<ASL>``) are single tokens, matched as written.
    """
    if vocab_size < len(SPECIAL_TOKENS) + 256:
        raise ValueError(
            f"`vocab_size` must be at least {len(SPECIAL_TOKENS) + 256} (specials + bytes), got {vocab_size}"
        )
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    texts = [text for text in texts if text and text.strip()]
    if not texts:
        raise ValueError("no text to train a tokenizer on")
    tokenizer.train_from_iterator(texts, trainer=trainer)
    wrapped = _wrap(tokenizer, max_length)
    extra = list(dict.fromkeys(extra_special_tokens))
    if extra:  # not normalised: a lowercasing tokenizer keeps "<ASL>" as written
        tokens = [AddedToken(token, normalized=False, special=True) for token in extra]
        wrapped.add_special_tokens({"extra_special_tokens": tokens})
    return wrapped


def build_langgloss_tokenizer(sequences: Iterable[str], max_length: int = 128) -> PreTrainedTokenizerFast:
    """The LangGloss vocabulary of ``sequences`` (LangGloss strings): specials first, then the tokens sorted, so the
    same corpus always gives the same ids. ``</s>`` is appended to every sequence, as the text tokenizer does."""
    vocabulary = sorted({token for sequence in sequences for token in sequence.split()})
    if not vocabulary:
        raise ValueError("no LangGloss token to build a vocabulary from")
    bad = [token for token in vocabulary if not is_langgloss_token(token)]
    if bad:
        raise ValueError(f"not LangGloss tokens (<TAG_gloss>): {bad[:5]}")
    ids = {token: index for index, token in enumerate([*SPECIAL_TOKENS, *vocabulary])}
    tokenizer = Tokenizer(models.WordLevel(vocab=ids, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # no normaliser: case is kept
    tokenizer.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins tokens with spaces
    return _wrap(tokenizer, max_length)


def _wrap(tokenizer: Tokenizer, max_length: int) -> PreTrainedTokenizerFast:
    """``</s>`` after every sequence, and the special tokens named for transformers."""
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", tokenizer.token_to_id("</s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=max_length,
    )
