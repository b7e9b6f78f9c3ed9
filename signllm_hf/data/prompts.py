"""Prompt templates (the paper's Prompt2Sign prompts), written for this project, and a seeded prompt maker.

Templates live in ``prompt_templates/<spoken ISO 639-1>.txt`` (one per line, ``{text}`` once, ``{language}`` at most
once). English has 150; German, French, Italian, Spanish, Korean and Turkish, the spoken languages of the other
paper languages, have 40+ each. A deterministic 80/20 partition of each file (``split="train"`` / ``"heldout"``)
lets an evaluation wrap test sentences in templates the model never saw.

Example:
    >>> from signllm_hf.data.prompts import make_prompt, prompt_templates
    >>> len(prompt_templates("en")) >= 120
    True
    >>> make_prompt("the sky is blue", "gsg", seed=3) == make_prompt("the sky is blue", "GSL", seed=3)
    True
    >>> "the sky is blue" in make_prompt("the sky is blue", "ase", seed=0)
    True
"""

from __future__ import annotations

import functools
import random
import zlib
from importlib import resources

from .languages import get_language

# How a speaker of each spoken language names the paper's sign languages (seeded choice among them).
_LOCAL_MENTIONS = {
    ("ase", "en"): ("ASL", "American Sign Language"),
    ("gsg", "en"): ("GSL", "DGS", "German Sign Language"),
    ("gsg", "de"): ("DGS", "Deutscher Gebärdensprache"),
    ("sgg", "de"): ("DSGS", "Deutschschweizer Gebärdensprache"),
    ("ssr", "fr"): ("LSF-CH", "LSF-SR", "langue des signes suisse romande"),
    ("slf", "it"): ("LIS-CH", "LIS-SI", "lingua dei segni italiana svizzera"),
    ("aed", "es"): ("LSA", "lengua de señas argentina"),
    ("kvk", "ko"): ("한국 수어", "KSL"),
    ("tsm", "tr"): ("TİD", "Türk İşaret Dili"),
}
HELDOUT_FRACTION = 0.2


@functools.cache
def available_template_languages() -> tuple[str, ...]:
    """Spoken languages (ISO 639-1) that ship templates."""
    folder = resources.files("signllm_hf.data").joinpath("prompt_templates")
    return tuple(sorted(entry.name[:-4] for entry in folder.iterdir() if entry.name.endswith(".txt")))


@functools.cache
def _all_templates(spoken_language: str) -> tuple[str, ...]:
    if spoken_language not in available_template_languages():
        raise ValueError(
            f"no prompt templates for spoken language {spoken_language!r}; available: {available_template_languages()}"
        )
    path = resources.files("signllm_hf.data").joinpath("prompt_templates", f"{spoken_language}.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line.strip() and not line.startswith("#"))


@functools.cache
def _heldout(spoken_language: str) -> frozenset[str]:
    # The 20% of templates with the smallest content hash: fixed by the text, not the file order, so reordering the
    # file changes nothing and adding a template moves at most one other across the boundary.
    templates = sorted(_all_templates(spoken_language), key=lambda t: zlib.crc32(t.encode("utf-8")))
    return frozenset(templates[: round(len(templates) * HELDOUT_FRACTION)])


def prompt_templates(spoken_language: str, split: str | None = None) -> tuple[str, ...]:
    """Templates for a spoken language; ``split`` = ``None`` (all), ``"train"`` (80%) or ``"heldout"`` (20%)."""
    templates = _all_templates(spoken_language)
    if split is None:
        return templates
    if split not in ("train", "heldout"):
        raise ValueError(f"`split` must be None, 'train' or 'heldout', got {split!r}")
    heldout = _heldout(spoken_language)
    return tuple(t for t in templates if (t in heldout) == (split == "heldout"))


def template_language(sign_language: str) -> str:
    """The spoken language whose templates wrap text for a sign language (English when it has none)."""
    spoken = get_language(sign_language).spoken_language
    return spoken if spoken in available_template_languages() else "en"


def language_mentions(sign_language: str, spoken_language: str) -> tuple[str, ...]:
    """Ways a speaker of ``spoken_language`` names ``sign_language`` in a prompt (abbreviations, full names)."""
    language = get_language(sign_language)
    local = _LOCAL_MENTIONS.get((language.code, spoken_language))
    if local:
        return local
    names = [language.paper_name, *language.aliases] if spoken_language == "en" else [language.short_name]
    names = [n for n in names if n] + ([language.name] if spoken_language == "en" else [])
    return tuple(dict.fromkeys(names))


def make_prompt(
    text: str,
    language: str,
    *,
    seed: int = 0,
    key: str | None = None,
    spoken_language: str | None = None,
    split: str | None = None,
) -> str:
    """Wrap ``text`` in a template of the language's spoken language (or ``spoken_language``).

    The choice is a pure function of ``(seed, key or text, language)``, so a corpus rebuilt with the same seed gets the
    same prompts. ``split`` restricts the choice to the train or held-out templates.
    """
    if not text or not text.strip():
        raise ValueError("cannot make a prompt for empty text")
    spoken = spoken_language or template_language(language)
    templates = prompt_templates(spoken, split)
    code = get_language(language).code
    rng = random.Random(f"{seed}|{code}|{key if key is not None else text}")
    template = rng.choice(templates)
    mention = rng.choice(language_mentions(code, spoken))
    return template.format(text=text.strip(), language=mention)
