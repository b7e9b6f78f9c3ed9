import pytest

from signllm_hf.data.languages import (
    PAPER_LANGUAGES,
    UnknownLanguageError,
    canonical_language,
    get_language,
    list_languages,
    register_language,
)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("GSL", "gsg"),
        ("DGS", "gsg"),
        ("gsg", "gsg"),
        ("German Sign Language", "gsg"),
        ("  dgs ", "gsg"),
        ("ASL", "ase"),
        ("asl", "ase"),
        ("DSGS", "sgg"),
        ("LSF-CH", "ssr"),
        ("lis-ch", "slf"),
        ("LSA", "aed"),
        ("KSL", "kvk"),
        ("TSL", "tsm"),
        ("TİD", "tsm"),
        ("Libras", "bzs"),
        ("LSF", "fsl"),
    ],
)
def test_aliases_resolve_to_one_code(typed, code):
    assert canonical_language(typed) == code


def test_paper_languages_and_their_spoken_languages():
    assert PAPER_LANGUAGES == ("ase", "gsg", "sgg", "ssr", "slf", "aed", "kvk", "tsm")
    spoken = [get_language(code).spoken_language for code in PAPER_LANGUAGES]
    assert spoken == ["en", "de", "de", "fr", "it", "es", "ko", "tr"]
    assert [lang.code for lang in list_languages()[:8]] == list(PAPER_LANGUAGES)


def test_the_lexicon_languages_are_all_known():
    lexicon = "ase asq bzs cse csq eso fsl gsg gss ise jos lls mfs psr sgg ssp svk swl tsm ukl".split()
    assert [canonical_language(code) for code in lexicon] == lexicon
    assert len(list_languages()) >= 100


def test_spoken_language_code_gets_a_hint():
    with pytest.raises(UnknownLanguageError, match=r"'de' is a spoken-language code.*gsg \(GSL\)"):
        canonical_language("de")


def test_unknown_code_error_lists_the_paper_languages_and_how_to_register():
    with pytest.raises(UnknownLanguageError, match=r"unknown sign language 'qqq'.*ase \(ASL\).*register_language"):
        canonical_language("qqq")
    with pytest.raises(UnknownLanguageError, match="required"):
        canonical_language("")


def test_register_language_makes_a_new_code_usable_everywhere():
    register_language("qzx", "Test Sign Language", aliases=["TQSL"], spoken_language="en")
    assert canonical_language("tqsl") == "qzx"
    assert get_language("Test Sign Language").spoken_language == "en"
    with pytest.raises(ValueError, match="3-letter"):
        register_language("toolong", "x")
    with pytest.raises(ValueError, match="already names gsg"):
        register_language("qzy", "Other", aliases=["DGS"])


def test_updating_a_language_cannot_steal_aliases_and_renames_cleanly():
    register_language("qzw", "Old Name Sign Language", aliases=["ONSL"])
    with pytest.raises(ValueError, match="'DGS' already names gsg"):
        register_language("qzw", "Old Name Sign Language", aliases=["DGS"])
    assert canonical_language("DGS") == "gsg"
    register_language("qzw", "New Name Sign Language")
    assert canonical_language("New Name Sign Language") == "qzw" and canonical_language("ONSL") == "qzw"
    with pytest.raises(UnknownLanguageError):
        canonical_language("Old Name Sign Language")
