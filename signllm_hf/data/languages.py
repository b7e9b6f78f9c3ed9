"""Sign language registry: canonical ISO 639-3 ids, the paper's names as aliases, spoken languages.

Every place a user types a language (CLI flags, dataset readers, the model, the pipeline) goes through
:func:`canonical_language`, so ``"GSL"``, ``"DGS"``, ``"gsg"`` and ``"German Sign Language"`` are one language.
The table (``sign_languages.tsv``, shipped with the package) holds the eight languages of the SignLLM paper, the
twenty of the fingerspelling lexicon and about a hundred more; :func:`register_language` adds any other.

Example:
    >>> from signllm_hf.data.languages import canonical_language, get_language, PAPER_LANGUAGES
    >>> canonical_language("GSL"), canonical_language("dgs"), canonical_language("gsg")
    ('gsg', 'gsg', 'gsg')
    >>> get_language("LSF-CH").code, get_language("ssr").spoken_language
    ('ssr', 'fr')
    >>> [get_language(code).paper_name for code in PAPER_LANGUAGES]
    ['ASL', 'GSL', 'DSGS', 'LSF-CH', 'LIS-CH', 'LSA', 'KSL', 'TSL']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from importlib import resources

# The paper's eight languages in its order, with the names the paper uses.
PAPER_LANGUAGES = ("ase", "gsg", "sgg", "ssr", "slf", "aed", "kvk", "tsm")
PAPER_NAMES = {
    "ase": "ASL",
    "gsg": "GSL",
    "sgg": "DSGS",
    "ssr": "LSF-CH",
    "slf": "LIS-CH",
    "aed": "LSA",
    "kvk": "KSL",
    "tsm": "TSL",
}

# Spoken-language codes people type by mistake for a sign language, so the error can point to the right one.
_SPOKEN_CODES = {
    "ar": "ar",
    "ara": "ar",
    "cs": "cs",
    "ces": "cs",
    "cze": "cs",
    "de": "de",
    "deu": "de",
    "ger": "de",
    "el": "el",
    "ell": "el",
    "gre": "el",
    "en": "en",
    "eng": "en",
    "es": "es",
    "spa": "es",
    "et": "et",
    "est": "et",
    "fr": "fr",
    "fra": "fr",
    "fre": "fr",
    "hr": "hr",
    "hrv": "hr",
    "it": "it",
    "ita": "it",
    "ja": "ja",
    "jpn": "ja",
    "ko": "ko",
    "kor": "ko",
    "lt": "lt",
    "lit": "lt",
    "nl": "nl",
    "nld": "nl",
    "dut": "nl",
    "pl": "pl",
    "pol": "pl",
    "pt": "pt",
    "por": "pt",
    "ru": "ru",
    "rus": "ru",
    "sk": "sk",
    "slk": "sk",
    "slo": "sk",
    "sv": "sv",
    "swe": "sv",
    "tr": "tr",
    "tur": "tr",
    "uk": "uk",
    "ukr": "uk",
    "zh": "zh",
    "zho": "zh",
    "chi": "zh",
}

_CODE_PATTERN = re.compile(r"^[a-z]{3}$")


class UnknownLanguageError(ValueError):
    """A language name or code that the registry cannot resolve."""


@dataclass(frozen=True)
class SignLanguage:
    """One sign language. ``code`` is its ISO 639-3 id; ``spoken_language`` an ISO 639-1 code (or None)."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    spoken_language: str | None = None

    @property
    def paper_name(self) -> str | None:
        """The SignLLM paper's name for this language (``"GSL"`` for ``gsg``), or None outside the paper's eight."""
        return PAPER_NAMES.get(self.code)

    @property
    def short_name(self) -> str:
        """The paper's name, else the first alias, else the code: what to show in tables and model names."""
        return self.paper_name or (self.aliases[0] if self.aliases else self.code)


_REGISTRY: dict[str, SignLanguage] = {}
_LOOKUP: dict[str, str] = {}  # casefolded code / alias / name -> code


def _lookup_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def registry_version() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """A value that changes whenever a language is added or renamed (a cache key for tables built from the
    registry)."""
    return tuple((code, language.name, language.aliases) for code, language in _REGISTRY.items())


def _add(language: SignLanguage) -> None:
    keys = [language.code, language.name, *language.aliases]
    for key in keys:
        owner = _LOOKUP.get(_lookup_key(key))
        if owner is not None and owner != language.code:
            raise ValueError(
                f"{key!r} already names {owner} ({_REGISTRY[owner].name}); pick another alias for {language.code}"
            )
    previous = _REGISTRY.get(language.code)
    if previous is not None:  # an update: names it no longer has stop resolving to it
        for key in (previous.name, *previous.aliases):
            if _LOOKUP.get(_lookup_key(key)) == language.code:
                del _LOOKUP[_lookup_key(key)]
    _REGISTRY[language.code] = language
    for key in keys:
        _LOOKUP[_lookup_key(key)] = language.code


def _load_table() -> None:
    text = resources.files("signllm_hf.data").joinpath("sign_languages.tsv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    header = lines[0].split("\t")
    if header[:4] != ["code", "name", "aliases", "spoken_language"]:
        raise RuntimeError(f"sign_languages.tsv has an unexpected header {header}; the package data is damaged")
    for line in lines[1:]:
        code, name, aliases, spoken = (line.split("\t") + ["", ""])[:4]
        alias_tuple = tuple(a.strip() for a in aliases.split(",") if a.strip())
        _add(SignLanguage(code.strip(), name.strip(), alias_tuple, spoken.strip() or None))


_load_table()


def canonical_language(language: str) -> str:
    """Map a code, alias or name (any case) to the canonical ISO 639-3 code.

    Raises :class:`UnknownLanguageError` with a hint when the input is a spoken-language code (``"de"``) or unknown.
    """
    if not isinstance(language, str) or not language.strip():
        raise UnknownLanguageError(f"a sign language code is required, got {language!r} (e.g. 'ase' or 'ASL')")
    code = _LOOKUP.get(_lookup_key(language))
    if code is not None:
        return code
    spoken = _SPOKEN_CODES.get(language.strip().lower())
    if spoken is not None:
        candidates = [
            f"{lang.code} ({lang.short_name})" for lang in _REGISTRY.values() if lang.spoken_language == spoken
        ]
        raise UnknownLanguageError(
            f"{language!r} is a spoken-language code; give the sign language instead, "
            f"e.g. one of: {', '.join(candidates[:8]) or 'see signllm_hf.data.list_languages()'}"
        )
    hint = ""
    if _CODE_PATTERN.match(language.strip().lower()):
        hint = (
            f" If {language.strip().lower()!r} is an ISO 639-3 sign language code missing from our table, register "
            f"it first: signllm_hf.data.register_language({language.strip().lower()!r}, 'Its English name')."
        )
    paper = ", ".join(f"{code} ({name})" for code, name in PAPER_NAMES.items())
    raise UnknownLanguageError(f"unknown sign language {language!r}. The paper's languages are: {paper}.{hint}")


def get_language(language: str) -> SignLanguage:
    """The :class:`SignLanguage` for a code, alias or name."""
    return _REGISTRY[canonical_language(language)]


def register_language(
    code: str, name: str, aliases: tuple[str, ...] | list[str] = (), spoken_language: str | None = None
) -> SignLanguage:
    """Add (or update) a sign language, so every API accepts it. ``code`` must look like ISO 639-3 (3 letters).

    >>> from signllm_hf.data.languages import register_language, canonical_language
    >>> _ = register_language("xzz", "Example Sign Language", aliases=["XSL"])
    >>> canonical_language("xsl")
    'xzz'
    """
    code = code.strip().lower()
    if not _CODE_PATTERN.match(code):
        raise ValueError(f"`code` must be a 3-letter ISO 639-3 code such as 'ase', got {code!r}")
    existing = _REGISTRY.get(code)
    language = SignLanguage(code, name, tuple(aliases), spoken_language)
    if existing is not None:
        language = replace(existing, name=name, aliases=tuple(dict.fromkeys((*existing.aliases, *aliases))))
        if spoken_language:
            language = replace(language, spoken_language=spoken_language)
    _add(language)
    return language


def list_languages() -> list[SignLanguage]:
    """All registered languages, the paper's eight first."""
    paper = [_REGISTRY[code] for code in PAPER_LANGUAGES]
    return paper + sorted((lang for lang in _REGISTRY.values() if lang.code not in PAPER_NAMES), key=lambda x: x.code)
