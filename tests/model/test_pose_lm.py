"""Pose tokens in any language model: vocabulary, logits processor, save/load, overfitting both directions."""

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

from signllm_hf.modeling_signllm_pose_lm import (
    POSE_END,
    POSE_START,
    PoseTokenLogitsProcessor,
    PoseVocabulary,
    add_pose_tokens,
    codes_to_tokens,
    decode_pose_codes,
    encode_pose_codes,
    generate_pose_codes,
    generate_text_from_codes,
    load_pose_lm_model,
    load_pose_tokenizer,
    pad_batch,
    save_pose_lm,
    task_example,
    tokens_to_codes,
)
from signllm_hf.modeling_signllm_pose_projector import (
    PoseFeatureProjector,
    fuse_pose_features,
    generate_text_from_features,
    load_projector,
)
from tests.model.pose_lm_helpers import pose_tokenizer, text_tokenizer, tiny_lm

KINDS = ["t5", "bart", "mbart", "qwen2", "llama"]


def pose_lm(kind: str, num_pose_tokens: int = 16, languages=("ase", "gsg")):
    tokenizer = text_tokenizer()
    model = tiny_lm(kind, len(tokenizer))
    vocab = add_pose_tokens(tokenizer, model, num_pose_tokens=num_pose_tokens, languages=languages)
    return model, tokenizer, vocab


@pytest.mark.parametrize("kind", KINDS)
def test_added_tokens_round_trip(kind):
    model, tokenizer, vocab = pose_lm(kind)
    base = len(text_tokenizer())
    assert vocab.first_pose_id == base and vocab.start_id == base + 16 and vocab.end_id == base + 17
    assert vocab.languages == {"ase": base + 18, "gsg": base + 19}
    assert model.get_input_embeddings().num_embeddings == len(tokenizer) == base + 20
    assert model.get_output_embeddings().weight.shape[0] == base + 20
    text = f"<ase>{POSE_START}{codes_to_tokens([3, 15, 0])}{POSE_END}"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids == [vocab.languages["ase"], vocab.start_id, base + 3, base + 15, base, vocab.end_id]
    assert tokens_to_codes(text, tokenizer, vocab) == tokens_to_codes(text) == [3, 15, 0]
    assert tokenizer.decode(ids, skip_special_tokens=True).strip() == ""  # special: dropped from text outputs
    assert tokenizer.convert_ids_to_tokens(ids[2]) == "<pose_3>"
    again = add_pose_tokens(tokenizer, model, num_pose_tokens=16, languages=["ASL"])  # idempotent
    assert again == vocab and len(tokenizer) == base + 20


def test_logits_processor_masks_exactly():
    vocab = PoseVocabulary(num_pose_tokens=4, first_pose_id=10, start_id=14, end_id=15, languages={"ase": 16})
    processor = PoseTokenLogitsProcessor(vocab, max_pose_tokens=3, eos_token_id=2, prompt_length=3)
    scores = torch.randn(5, 20)
    ids = torch.tensor(
        [
            [16, 5, 14],  # just started: pose ids only (no end before one pose id)
            [16, 14, 10],  # wait: the start is in the prompt, one pose id generated: pose ids or end
            [14, 10, 11],  # two pose ids (the third is the max) ...
            [16, 5, 6],  # outside a span: anything but pose ids and the end
            [14, 15, 3],  # a span closed in the prompt: not "generated", so still free
        ]
    )
    ids = torch.cat([ids, torch.tensor([[12], [12], [12], [7], [7]])], 1)  # one more step
    out = processor(ids, scores.clone())
    allowed = [set(row.isfinite().nonzero().flatten().tolist()) for row in out]
    poses = set(range(10, 14))
    free = set(range(20)) - poses - {15}
    assert allowed[0] == poses | {15}
    assert allowed[1] == poses | {15}
    assert allowed[2] == {15}  # three pose ids: end forced
    assert allowed[3] == free
    assert allowed[4] == free
    for row, keep in zip(out, allowed):  # the allowed scores are untouched
        assert torch.isinf(row[sorted(set(range(20)) - keep)]).all()
    ended = torch.tensor([[16, 5, 14, 12, 15]])  # end generated: eos only
    assert processor(ended, torch.zeros(1, 20))[0].isfinite().nonzero().flatten().tolist() == [2]
    text_only = PoseTokenLogitsProcessor(vocab, allow_start=False)
    assert text_only(torch.tensor([[16, 5]]), torch.zeros(1, 20)).isfinite().sum() == 20 - 6


def test_task_examples():
    _, tokenizer, vocab = pose_lm("t5")
    p = vocab.first_pose_id
    hello = tokenizer("hello world", add_special_tokens=False)["input_ids"]
    seq2seq = task_example(tokenizer, vocab, "text_to_pose", language="ase", encoder_decoder=True, text="hello world",
                           codes=[1, 2])  # fmt: skip
    assert seq2seq["input_ids"] == [vocab.languages["ase"], *hello, 2]
    assert seq2seq["labels"] == [vocab.start_id, p + 1, p + 2, vocab.end_id, 2]
    causal = task_example(tokenizer, vocab, "pose_to_text", language="gsg", encoder_decoder=False, text="hello world",
                          codes=[3])  # fmt: skip
    source = [1, vocab.languages["gsg"], vocab.start_id, p + 3, vocab.end_id]
    assert causal["input_ids"] == source + hello + [2] and causal["labels"] == [-100] * 5 + hello + [2]
    completion = task_example(tokenizer, vocab, "completion", language="ase", encoder_decoder=False, codes=[1, 2, 3])
    assert completion["labels"][-4:] == [p + 2, p + 3, vocab.end_id, 2]
    with pytest.raises(ValueError, match="pose codes must be in"):
        task_example(tokenizer, vocab, "pose_to_text", language="ase", encoder_decoder=True, text="x", codes=[16])
    with pytest.raises(ValueError, match="no language tag for 'KSL'"):
        task_example(tokenizer, vocab, "pose_to_text", language="KSL", encoder_decoder=True, text="x", codes=[1])


def test_pose_codes_round_trip_through_the_pose_tokenizer():
    vq = pose_tokenizer()
    codes = [[3, 1, 4], [5]]
    poses, lengths = decode_pose_codes(vq, codes)
    assert poses.shape == (2, 6, 150) and lengths.tolist() == [6, 2]
    assert torch.equal(poses[1, 2:], torch.zeros(4, 150))
    clips = [poses[0].numpy().reshape(6, 50, 3), poses[1, :2].numpy()]
    assert encode_pose_codes(vq, clips) == codes


@pytest.mark.parametrize("kind", ["t5", "qwen2"])
def test_save_and_load_keep_the_pose_vocabulary(kind, tmp_path):
    model, tokenizer, vocab = pose_lm(kind)
    projector = PoseFeatureProjector(lm_hidden_size=32, frames_per_step=2, hidden_size=16)
    save_pose_lm(tmp_path, model, tokenizer, pose_tokenizer=pose_tokenizer(), projector=projector)
    loaded = load_pose_lm_model(tmp_path)
    auto = AutoModelForSeq2SeqLM if kind == "t5" else AutoModelForCausalLM
    assert isinstance(loaded, auto._model_mapping[type(loaded.config)])
    assert PoseVocabulary.from_config(loaded.config) == vocab
    again = AutoTokenizer.from_pretrained(tmp_path)
    text = f"<gsg>{POSE_START}<pose_7>{POSE_END}"
    assert again(text, add_special_tokens=False)["input_ids"] == tokenizer(text, add_special_tokens=False)["input_ids"]
    assert load_pose_tokenizer(tmp_path).num_pose_tokens == 16
    poses, mask = torch.randn(1, 5, 150), torch.ones(1, 5, dtype=torch.bool)
    assert torch.equal(load_projector(tmp_path)(poses, mask)[0], projector(poses, mask)[0])


def _overfit(model, batches, steps, lr=1e-2):
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        for batch in batches:
            optimizer.zero_grad()
            model(**batch).loss.backward()
            optimizer.step()
    model.eval()


def _collate(examples, pad_id):
    ids, mask = pad_batch([e["input_ids"] for e in examples], pad_id)
    return {"input_ids": ids, "attention_mask": mask, "labels": pad_batch([e["labels"] for e in examples], -100)[0]}


@pytest.mark.parametrize("kind", ["t5", "qwen2"])
def test_overfits_two_examples_in_both_directions(kind):
    model, tokenizer, vocab = pose_lm(kind)
    encoder_decoder = model.config.is_encoder_decoder
    data = [("hello world", "ase", [3, 1, 4, 1, 5]), ("good night", "gsg", [9, 2, 6])]
    examples = [
        task_example(tokenizer, vocab, task, language=lang, encoder_decoder=encoder_decoder, text=text, codes=codes)
        for text, lang, codes in data
        for task in ("text_to_pose", "pose_to_text")
    ]
    _overfit(model, [_collate(examples, tokenizer.pad_token_id)], steps=250)
    texts, languages, codes = zip(*data)
    assert generate_pose_codes(model, tokenizer, list(texts), list(languages), max_pose_tokens=8) == list(codes)
    assert generate_text_from_codes(model, tokenizer, list(codes), list(languages)) == list(texts)
    capped = generate_pose_codes(model, tokenizer, ["hello world"], ["ase"], max_pose_tokens=2)
    assert capped == [[3, 1]]  # the end forced at the cap


@pytest.mark.parametrize("kind", ["bart", "llama"])
def test_continuous_features_through_the_projector(kind):
    model, tokenizer, _ = pose_lm(kind)
    torch.manual_seed(0)
    projector = PoseFeatureProjector(lm_hidden_size=32, frames_per_step=2, hidden_size=32)
    poses = torch.randn(2, 6, 150)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    texts, languages = ["hello world", "good night"], ["ase", "gsg"]
    batch = fuse_pose_features(model, tokenizer, projector, poses, mask, languages, texts)
    assert batch["inputs_embeds"].shape[0] == 2 and batch["labels"].shape[0] == 2
    params = [*model.parameters(), *projector.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-2)
    model.train()
    for _ in range(100):
        optimizer.zero_grad()
        model(**fuse_pose_features(model, tokenizer, projector, poses, mask, languages, texts)).loss.backward()
        optimizer.step()
    model.eval()
    assert generate_text_from_features(model, tokenizer, projector, poses, mask, languages) == texts


def test_generated_frames_are_the_pose_tokenizer_s(tmp_path):
    vq = pose_tokenizer()
    frames, lengths = decode_pose_codes(vq, [[2, 2]])
    np.testing.assert_array_equal(frames[0, :2].numpy(), vq.codebook[2].detach().numpy())
    assert lengths.tolist() == [4]


DATA = [("hello world", "ase", [3, 1, 4, 1, 5]), ("good night", "gsg", [9, 2, 6])]


@pytest.fixture(scope="module")
def pose_lm_dir(tmp_path_factory):
    """A tiny Qwen2 that learnt DATA both ways, saved with its pose tokenizer and a projector."""
    model, tokenizer, vocab = pose_lm("qwen2")
    examples = [
        task_example(tokenizer, vocab, task, language=lang, encoder_decoder=False, text=text, codes=codes)
        for text, lang, codes in DATA
        for task in ("text_to_pose", "pose_to_text")
    ]
    _overfit(model, [_collate(examples, tokenizer.pad_token_id)], steps=150)
    folder = tmp_path_factory.mktemp("pose_lm")
    projector = PoseFeatureProjector(lm_hidden_size=32, frames_per_step=2, hidden_size=16)
    save_pose_lm(folder, model, tokenizer, pose_tokenizer=pose_tokenizer(), projector=projector)
    return folder


def test_text_to_pose_pipeline_serves_a_pose_lm(pose_lm_dir):
    from transformers import pipeline

    signer = pipeline("text-to-pose", model=str(pose_lm_dir), device="cpu")
    result = signer("hello world", language="ASL")
    assert set(result) == {"pose", "counter", "fps", "language", "text"}  # as for the continuous model
    expected, _ = decode_pose_codes(pose_tokenizer(), [DATA[0][2]])
    assert result["pose"].shape == (10, 50, 3) and result["pose"].dtype == np.float32
    np.testing.assert_allclose(result["pose"], expected[0].numpy().reshape(10, 50, 3), atol=1e-6)
    assert result["counter"].tolist() == pytest.approx([(t + 1) / 10 for t in range(10)])
    assert result["fps"] == 25.0 and result["language"] == "ase" and result["text"] == "hello world"
    batched = signer(["hello world", "good night"], language=["ase", "gsg"], batch_size=2)
    assert [r["pose"].shape[0] for r in batched] == [10, 6]
    assert signer("hello world", language="ase", max_frames=4)["pose"].shape == (4, 50, 3)
    with pytest.raises(ValueError, match="no language tag for 'KSL'"):
        signer("hello", language="KSL")
    with pytest.raises(ValueError, match="pass `language=`"):
        signer("hello")


def test_pose_to_text_pipeline(pose_lm_dir, tmp_path):
    from transformers import pipeline

    from signllm_hf.data.pose_files import write_pose_file

    reader = pipeline("pose-to-text", model=str(pose_lm_dir), device="cpu")
    assert not reader.features
    clips = [decode_pose_codes(pose_tokenizer(), [codes])[0][0].numpy().reshape(-1, 50, 3) for *_, codes in DATA]
    assert reader(clips[0], language="ase") == {"text": "hello world", "language": "ase"}
    results = reader([{"pose": clips[0], "language": "ase"}, {"pose": clips[1], "language": "gsg"}], batch_size=2)
    assert [r["text"] for r in results] == ["hello world", "good night"]
    path = write_pose_file(tmp_path / "clip.pose", clips[1], 25.0)
    assert reader(str(path), language="gsg")["text"] == "good night"
    features = pipeline("pose-to-text", model=str(pose_lm_dir), device="cpu", features=True)
    assert features.features and isinstance(features(clips[0], language="ase")["text"], str)
    with pytest.raises(ValueError, match=r"a pose is \(T, 50, 3\) or \(T, 150\)"):
        reader(np.zeros((4, 7)), language="ase")
