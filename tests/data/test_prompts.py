import string

import pytest

from signllm_hf.data.languages import PAPER_LANGUAGES
from signllm_hf.data.prompts import (
    available_template_languages,
    language_mentions,
    make_prompt,
    prompt_templates,
    template_language,
)

PAPER_SPOKEN = {"en": 120, "de": 30, "fr": 30, "it": 30, "es": 30, "ko": 30, "tr": 30}


@pytest.mark.parametrize(("spoken", "minimum"), PAPER_SPOKEN.items())
def test_template_counts_and_placeholders(spoken, minimum):
    templates = prompt_templates(spoken)
    assert len(templates) >= minimum
    assert len(set(templates)) == len(templates)
    for template in templates:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        assert fields.count("text") == 1, template
        assert set(fields) <= {"text", "language"} and fields.count("language") <= 1, template


def test_each_paper_language_gets_its_spoken_language():
    assert set(PAPER_SPOKEN) <= set(available_template_languages())
    assert [template_language(code) for code in PAPER_LANGUAGES] == ["en", "de", "de", "fr", "it", "es", "ko", "tr"]
    assert template_language("ukl") == "en"  # no Ukrainian templates: English


def test_heldout_split_is_a_disjoint_fifth():
    for spoken in PAPER_SPOKEN:
        train, heldout = prompt_templates(spoken, "train"), prompt_templates(spoken, "heldout")
        assert not set(train) & set(heldout)
        assert len(train) + len(heldout) == len(prompt_templates(spoken))
        assert len(heldout) == round(0.2 * len(prompt_templates(spoken)))


def test_make_prompt_is_seeded_and_contains_the_text():
    first = make_prompt("the sky is blue", "DGS", seed=1, spoken_language="en")
    assert first == make_prompt("the sky is blue", "gsg", seed=1, spoken_language="en")
    assert "the sky is blue" in first
    prompts = {make_prompt("the sky is blue", "ase", seed=s) for s in range(30)}
    assert len(prompts) > 10  # the seed really picks among many templates


def test_prompt_names_the_language_in_the_spoken_language():
    mentions = language_mentions("gsg", "de")
    with_language = [t for t in prompt_templates("de") if "{language}" in t]
    assert with_language
    prompts = [make_prompt("am meer wird es freundlich", "gsg", seed=s) for s in range(60)]
    assert any(any(m in p for m in mentions) for p in prompts)
    assert all("am meer wird es freundlich" in p for p in prompts)


def test_heldout_prompts_use_heldout_templates():
    heldout = prompt_templates("en", "heldout")
    prompt = make_prompt("hello", "ase", seed=4, split="heldout")
    assert any(prompt == t.format(text="hello", language=m) for t in heldout for m in language_mentions("ase", "en"))


def test_bad_arguments():
    with pytest.raises(ValueError, match="empty text"):
        make_prompt("  ", "ase")
    with pytest.raises(ValueError, match="no prompt templates for spoken language 'xx'"):
        prompt_templates("xx")
    with pytest.raises(ValueError, match="split"):
        prompt_templates("en", "test")
