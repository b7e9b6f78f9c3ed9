"""Corpora: building them (the fingerspelling lexicon, the synthetic compositional corpus) and loading them.

The builders write a corpus folder (parquet shards + ``stats.json``); :func:`load_corpus` reads any corpus folder,
ours or a Prompt2Sign one, and :func:`select_clips` applies the selection that training and evaluation share.
"""

from .loading import load_corpus, select_clips

__all__ = ["load_corpus", "select_clips"]
