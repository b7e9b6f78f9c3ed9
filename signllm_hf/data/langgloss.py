"""LangGloss: gloss tokens that carry their sign language, the input of SignLLM's Prompt2LangGloss mode.

A LangGloss token is ``<TAG_gloss>``: the language's tag (the paper's name, ``ASL``, ``GSL``, ``LSF-CH``..., else the
registry's short name) and the gloss, case preserved, so one word in two sign languages is two tokens
(``<ASL_when>``, ``<GSL_when>``) and ``<GSL_MEER>`` (a PHOENIX gloss) is not ``<GSL_meer>``. A LangGloss sequence
is the tokens joined by spaces.

A corpus row gets its LangGloss from its ``gloss`` column when it has one (:func:`gloss_to_langgloss`), and from its
text otherwise (:func:`text_to_langgloss`, the paper's automatic gloss marker: the text's words, lowercased, without
punctuation, in the text's order). :func:`named_languages` finds the sign languages a prompt names, by every name
and abbreviation the registry and the prompt templates know.

Example:
    >>> from signllm_hf.data.langgloss import gloss_to_langgloss, text_to_langgloss, langgloss_language
    >>> text_to_langgloss("When is the sky blue?", "ASL")
    '<ASL_when> <ASL_is> <ASL_the> <ASL_sky> <ASL_blue>'
    >>> gloss_to_langgloss("MORGEN REGEN", "DGS")
    '<GSL_MORGEN> <GSL_REGEN>'
    >>> langgloss_language("<GSL_MORGEN> <GSL_REGEN>")
    'gsg'
"""

from __future__ import annotations

import functools
import re

from .languages import canonical_language, get_language, list_languages, registry_version
from .prompts import _LOCAL_MENTIONS

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")  # letters and digits in any script, inner apostrophes / hyphens
_TOKEN = re.compile(r"<([^\s<>_]+)_([^\s<>]+)>")


def langgloss_tag(language: str) -> str:
    """The tag of a language's LangGloss tokens: ``"ASL"`` for ase, ``"LSF-CH"`` for ssr, else its short name."""
    name = get_language(language).short_name
    return re.sub(r"[\s_<>]+", "-", name)


@functools.cache
def _tag_to_code(version=None) -> dict[str, str]:  # version: registry_version(), the cache key
    return {langgloss_tag(language.code): language.code for language in list_languages()}


def is_langgloss_token(token: str) -> bool:
    """Whether ``token`` has the shape ``<TAG_gloss>`` (its tag is not checked against the registry)."""
    return _TOKEN.fullmatch(token) is not None


def langgloss_token(gloss: str, language: str) -> str:
    """``<TAG_gloss>``; the gloss must be one word (no spaces or angle brackets)."""
    if not gloss or re.search(r"[\s<>]", gloss):
        raise ValueError(f"a gloss must be one word without spaces or angle brackets, got {gloss!r}")
    return f"<{langgloss_tag(language)}_{gloss}>"


def gloss_to_langgloss(gloss: str, language: str) -> str:
    """A gloss annotation (glosses separated by spaces, as in PHOENIX14T's ``.gloss``) as LangGloss."""
    tag = langgloss_tag(language)
    glosses = [item.strip("<>") for item in gloss.split()]
    return " ".join(f"<{tag}_{item}>" for item in glosses if item)


def text_to_langgloss(text: str, language: str) -> str:
    """The automatic gloss marker: the text's words, lowercased and without punctuation, as LangGloss tokens."""
    tag = langgloss_tag(language)
    return " ".join(f"<{tag}_{word.lower()}>" for word in _WORD.findall(text))


def row_langgloss(row: dict) -> str:
    """A corpus row's LangGloss: from its gloss when it has one, from its text otherwise."""
    gloss = (row.get("gloss") or "").strip()
    if gloss:
        return gloss_to_langgloss(gloss, row["language"])
    return text_to_langgloss(row["text"], row["language"])


def split_langgloss(sequence: str) -> list[tuple[str, str]]:
    """``[(language code, gloss), ...]`` of a LangGloss sequence; anything that is not a LangGloss token is an
    error."""
    pairs = []
    for item in sequence.split():
        match = _TOKEN.fullmatch(item)
        if match is None:
            raise ValueError(f"{item!r} is not a LangGloss token (<TAG_gloss>, e.g. <ASL_sky>)")
        tag, gloss = match.groups()
        code = _tag_to_code(registry_version()).get(tag)
        if code is None:
            code = canonical_language(tag)  # raises, naming the unknown tag
        pairs.append((code, gloss))
    return pairs


def langgloss_language(sequence: str) -> str | None:
    """The language of a LangGloss sequence (None when empty); a sequence mixing languages is an error."""
    languages = {code for code, _ in split_langgloss(sequence)}
    if len(languages) > 1:
        raise ValueError(f"the LangGloss sequence mixes languages {sorted(languages)}: {sequence[:80]!r}")
    return languages.pop() if languages else None


@functools.cache
def _mention_patterns(version=None) -> list[tuple[re.Pattern, str]]:  # version: as in _tag_to_code
    codes: dict[str, str] = {}  # a name or abbreviation -> the language it names (the registry decides clashes)
    for language in list_languages():
        for name in (language.paper_name, language.name, *language.aliases):
            if name and len(name) >= 3 and name not in codes:  # two-letter aliases would match ordinary words
                try:
                    codes[name] = canonical_language(name)
                except ValueError:
                    codes[name] = language.code
    for (code, _), mentions in _LOCAL_MENTIONS.items():
        codes.update(dict.fromkeys(mentions, code))
    patterns = []
    for name, code in codes.items():
        flags = 0 if name.isupper() else re.IGNORECASE  # "ASL" the name, not "asl" inside other text
        # Word boundaries where the name starts / ends with a Latin letter or digit; Korean particles attach to the
        # noun ("한국 수어로"), so other scripts match inside words.
        before = r"(?<!\w)" if name[0].isascii() and name[0].isalnum() else ""
        after = r"(?!\w)" if name[-1].isascii() and name[-1].isalnum() else ""
        # "Swiss-German Sign Language" and "Swiss German Sign Language" are one name.
        # "수어" is also written "한국수어": spaces and hyphens inside a name are optional.
        body = r"[\s-]*".join(re.escape(part) for part in re.split(r"[\s-]+", name))
        patterns.append((re.compile(before + body + after, flags), code))
    return patterns


def named_languages(prompt: str) -> list[str]:
    """The sign languages a prompt names (canonical codes, in order of mention).

    Longer names win over names inside them: "Swiss German Sign Language" names sgg, not also gsg.
    """
    matches = [
        (m.start(), m.end(), code)
        for pattern, code in _mention_patterns(registry_version())
        for m in pattern.finditer(prompt)
    ]
    taken: list[tuple[int, int, str]] = []
    for start, end, code in sorted(matches, key=lambda m: m[0] - m[1]):  # longest first
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, code))
    return list(dict.fromkeys(code for _, _, code in sorted(taken)))
