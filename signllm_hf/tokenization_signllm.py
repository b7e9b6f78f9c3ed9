"""Tokenizers for SignLLM, built offline with the ``tokenizers`` library and saved with the model.

``train_text_tokenizer`` learns a byte-level BPE vocabulary from a corpus's text (any script: byte-level means no
unknown characters), with NFKC normalisation, optional lowercasing, and ``</s>`` appended to every sequence. The
special ids match ``SignLLMConfig``'s defaults: ``<pad>`` 0, ``<s>`` 1, ``</s>`` 2, ``<unk>`` 3. The result is a
plain ``PreTrainedTokenizerFast``: ``save_pretrained`` writes ``tokenizer.json`` next to the model, and
``AutoTokenizer.from_pretrained`` loads it anywhere, with or without signllm-hf.

Example:
    >>> from signllm_hf.tokenization_signllm import train_text_tokenizer
    >>> tokenizer = train_text_tokenizer(["the sky is blue", "am meer wird es freundlich"], vocab_size=300)
    >>> ids = tokenizer("The sky")["input_ids"]
    >>> ids[-1] == tokenizer.eos_token_id, tokenizer.decode(ids, skip_special_tokens=True).strip()
    (True, 'the sky')
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>")  # ids 0, 1, 2, 3


def train_text_tokenizer(
    texts: Iterable[str], vocab_size: int = 8000, lowercase: bool = True, max_length: int = 128
) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts`` (at most ``vocab_size`` tokens, fewer for small corpora)."""
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
    eos = tokenizer.token_to_id("</s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=max_length,
    )
