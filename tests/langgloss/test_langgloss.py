"""LangGloss tokens, the LangGloss tokenizer, and finding the language a prompt names."""

import pytest
from transformers import AutoTokenizer

from signllm_hf.data.langgloss import (
    gloss_to_langgloss,
    langgloss_language,
    langgloss_tag,
    named_languages,
    row_langgloss,
    split_langgloss,
    text_to_langgloss,
)
from signllm_hf.data.languages import register_language
from signllm_hf.modeling_prompt_stage import keep_language, prompt_language, source_text
from signllm_hf.tokenization_signllm import build_langgloss_tokenizer, train_text_tokenizer
from signllm_hf.training.prompt_stage import langgloss_pairs


def test_tags_and_the_automatic_gloss_marker():
    assert [langgloss_tag(code) for code in ("ase", "DGS", "LSF-CH", "kvk")] == ["ASL", "GSL", "LSF-CH", "KSL"]
    expected = "<GSL_am> <GSL_meer> <GSL_wird's> <GSL_freundlich>"
    assert text_to_langgloss("Am Meer wird's freundlich!", "gsg") == expected
    assert text_to_langgloss("하늘이 파랗다", "KSL") == "<KSL_하늘이> <KSL_파랗다>"
    assert gloss_to_langgloss("MORGEN  REGEN", "gsg") == "<GSL_MORGEN> <GSL_REGEN>"  # case kept
    assert row_langgloss({"language": "ase", "text": "The sky", "gloss": ""}) == "<ASL_the> <ASL_sky>"
    assert row_langgloss({"language": "ase", "text": "The sky", "gloss": "SKY"}) == "<ASL_SKY>"
    assert split_langgloss("<LSF-CH_ciel> <ASL_sky_blue>") == [("ssr", "ciel"), ("ase", "sky_blue")]
    assert langgloss_language("<GSL_a> <GSL_b>") == "gsg" and langgloss_language("") is None
    with pytest.raises(ValueError, match="mixes languages"):
        langgloss_language("<GSL_a> <ASL_b>")
    with pytest.raises(ValueError, match="'sky' is not a LangGloss token"):
        split_langgloss("<ASL_the> sky")


def test_named_languages():
    assert named_languages("How do I sign 'the sky is blue' in DGS?") == ["gsg"]
    assert named_languages("Wie gebärdet man 'am Meer' in Deutscher Gebärdensprache?") == ["gsg"]
    assert named_languages("Sign it in Swiss German Sign Language") == ["sgg"]  # not also German Sign Language
    assert named_languages("Türk İşaret Dili ile 'deniz' nasıl gösterilir? (TİD)") == ["tsm"]
    assert named_languages("'하늘' 한국 수어로 어떻게 해요?") == ["kvk"]
    assert named_languages("first in ASL, then in LSA") == ["ase", "aed"]
    assert named_languages("the Haslach castle is nice") == []  # "asl" inside a word is no language
    assert named_languages("'하늘' 한국수어로 어떻게 해요?") == ["kvk"]  # written without the space too


def test_languages_registered_later_are_named_and_tagged():
    register_language("qqz", "Test Island Sign Language", aliases=["TISL"])
    assert named_languages("How do I sign 'hello' in TISL?") == ["qqz"]
    assert split_langgloss("<TISL_hello>") == [("qqz", "hello")]


def test_langgloss_tokenizer_round_trip_and_case(tmp_path):
    sequences = ["<ASL_when> <ASL_sky>", "<GSL_when> <GSL_MEER> <GSL_meer>"]
    tokenizer = build_langgloss_tokenizer(sequences)
    ids = tokenizer("<GSL_when> <ASL_when> <GSL_MEER> <GSL_meer>")["input_ids"]
    assert len(set(ids[:4])) == 4 and ids[-1] == tokenizer.eos_token_id  # one word, two languages: two ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<GSL_when> <ASL_when> <GSL_MEER> <GSL_meer>"
    assert tokenizer("<KSL_when>")["input_ids"][0] == tokenizer.unk_token_id
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded("<GSL_MEER> <ASL_sky>")["input_ids"] == tokenizer("<GSL_MEER> <ASL_sky>")["input_ids"]
    assert build_langgloss_tokenizer(reversed(sequences)).get_vocab() == tokenizer.get_vocab()  # order-free ids
    with pytest.raises(ValueError, match="not LangGloss tokens"):
        build_langgloss_tokenizer(["sky blue"])


def test_language_tags_are_single_source_tokens():
    tokenizer = train_text_tokenizer(
        ["<ASL> the sky", "<GSL> am meer"], vocab_size=300, extra_special_tokens=["<ASL>", "<GSL>"]
    )
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("<GSL> Am Meer")["input_ids"])
    assert tokens[0] == "<GSL>" and "<gsl>" not in tokens  # matched as written, before lowercasing


def test_prompt_language_and_pairs(caplog):
    assert prompt_language("How do I sign 'hello' in ASL?") == "ase"
    assert prompt_language("hello", "DGS") == "gsg"
    assert prompt_language("How do I sign 'hello' in ASL?", "gsg") == "gsg" and "signing in gsg" in caplog.text
    with pytest.raises(ValueError, match="names no sign language"):
        prompt_language("How do I sign 'hello'?")
    with pytest.raises(ValueError, match=r"several sign languages \['ase', 'gsg'\]"):
        prompt_language("'hello' in ASL or DGS?")
    assert source_text(" hello ", "LSF-CH") == "<LSF-CH> hello"
    rows = [
        {"id": "a", "language": "ase", "text": "the sky", "gloss": ""},
        {"id": "b", "language": "gsg", "text": "der Himmel", "gloss": "HIMMEL"},
    ]
    pairs = langgloss_pairs(rows, prompts_per_clip=3)
    assert len(pairs) == 8 and [p["target"] for p in pairs[::4]] == ["<ASL_the> <ASL_sky>", "<GSL_HIMMEL>"]
    assert pairs[0]["source"] == "<ASL> the sky" and all("der Himmel" in p["source"] for p in pairs[4:])
    assert len({p["source"] for p in pairs[1:4]}) == 3  # three different templates
    assert keep_language("<ASL_a> <GSL_b> junk <ASL_c>", "ASL") == "<ASL_a> <ASL_c>"
