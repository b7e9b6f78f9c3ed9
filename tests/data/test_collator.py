import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from signllm_hf.data import SignLLMDataCollator
from tests.conftest import random_pose


def _features(lengths):
    return [
        {"id": f"c{i}", "pose": random_pose(n, i), "language": "gsg", "text": f"hallo welt {i}"}
        for i, n in enumerate(lengths)
    ]


def test_padding_mask_and_counter():
    features = _features([3, 6, 4])
    batch = SignLLMDataCollator()(features)
    labels, mask = batch["labels"], batch["frame_mask"]
    assert labels.shape == (3, 6, 151) and labels.dtype == torch.float32
    assert mask.tolist()[0] == [True] * 3 + [False] * 3
    for row, feature in enumerate(features):
        length = len(feature["pose"])
        np.testing.assert_allclose(labels[row, :length, :150].numpy(), feature["pose"].reshape(length, 150))
        np.testing.assert_allclose(labels[row, :length, 150].numpy(), np.arange(1, length + 1) / length, rtol=1e-6)
        assert labels[row, length:].abs().sum() == 0
    assert batch["language"] == ["gsg"] * 3


def test_options_without_counter_and_padded_to_multiple():
    batch = SignLLMDataCollator(add_counter=False, pad_to_multiple_of=8, return_confidence=True)(
        [dict(f, confidence=np.full((len(f["pose"]), 50), 0.5)) for f in _features([3, 5])]
    )
    assert batch["labels"].shape == (2, 8, 150)
    assert batch["confidence"].shape == (2, 8, 50)
    assert batch["confidence"][0, :3].eq(0.5).all() and batch["confidence"][0, 3:].eq(0).all()
    start = SignLLMDataCollator(counter_convention="start")(_features([4]))
    np.testing.assert_allclose(start["labels"][0, :, 150].numpy(), [0, 0.25, 0.5, 0.75])


def test_tokenizer_and_pretokenized_ids():
    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(["hallo welt 0 1 2"], trainers.WordLevelTrainer(special_tokens=["<pad>", "<unk>"]))
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", unk_token="<unk>")
    features = _features([2, 3])
    features[1]["text"] = "hallo"
    batch = SignLLMDataCollator(tokenizer=wrapped)(features)
    assert batch["input_ids"].shape == (2, 3)
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    pre = SignLLMDataCollator(pad_token_id=7)([dict(f, input_ids=ids) for f, ids in zip(features, [[4, 5, 6], [4]])])
    assert pre["input_ids"].tolist() == [[4, 5, 6], [4, 7, 7]]
    assert pre["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_errors():
    with pytest.raises(ValueError, match=r"row 1 \(id 'c1'\) has 9 frames > max_frames=5.*dataset.filter"):
        SignLLMDataCollator(max_frames=5)(_features([4, 9]))
    with pytest.raises(KeyError, match="row 0 has no 'pose'"):
        SignLLMDataCollator()([{"text": "x"}])
    bad = _features([3])
    bad[0]["pose"][1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"batch row 0 \(id 'c0'\): 1 NaN/inf"):
        SignLLMDataCollator()(bad)
    with pytest.raises(ValueError, match="empty"):
        SignLLMDataCollator()([])
