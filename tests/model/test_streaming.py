"""Streaming generation: the frames a streamer receives are the frames generate returns, as they are decoded."""

import pytest
import torch

from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration
from signllm_hf.streaming import PoseIteratorStreamer, PoseStreamer

TINY = {"vocab_size": 20, "d_model": 16, "ffn_dim": 32, "attention_heads": 2, "encoder_layers": 1, "decoder_layers": 1}
STATS = {"pose_mean": [0.5] * 150, "pose_std": [2.0] * 150}  # streamed frames are in the data's coordinates


def streamed_clips(chunks, batch: int) -> list[torch.Tensor]:
    """Each row's frames, in the order the chunks brought them."""
    clips = [[] for _ in range(batch)]
    for chunk in chunks:
        for slot, row in enumerate(chunk.rows.tolist()):
            clips[row].append(chunk.poses[slot])
    return [torch.cat(frames) if frames else torch.zeros(0, 50, 3) for frames in clips]


@pytest.mark.parametrize("decoding", ["autoregressive", "parallel"])
def test_streamed_frames_are_the_generated_frames(decoding):
    torch.manual_seed(0)
    extra = {"alignment": "duration", "decoder_input": "position"} if decoding == "parallel" else {}
    config = SignLLMConfig(**TINY, **STATS, languages=["ase", "gsg"], max_frames=12, decoding=decoding, **extra)
    model = SignLLMForPoseGeneration(config).eval()
    with torch.no_grad():  # durations of 2-5 frames per token, so that the rows differ in length
        for group in model.groups.values():
            if decoding == "parallel":
                group.decoder.duration_head[-1].bias.fill_(1.2)
    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0], [11, 12, 13, 0]])
    mask = (ids != 0).long()
    languages = ["ase", "gsg", "ase"]
    expected = model.generate(ids, mask, language=languages)
    if decoding == "parallel":
        assert len(set(expected.lengths.tolist())) > 1
    streamer = PoseIteratorStreamer()
    chunks = list(model.stream(ids, mask, language=languages, streamer=streamer))
    assert streamer.lengths.tolist() == expected.lengths.tolist()  # the final lengths, for the caller to cut
    if decoding == "parallel":  # one chunk per language group, each with its rows' whole clips
        assert sorted(len(chunk.rows) for chunk in chunks) == [1, 2]
    else:  # one frame per step
        assert {chunk.poses.shape[1] for chunk in chunks} == {1}
    for row, clip in enumerate(streamed_clips(chunks, 3)):
        length = int(expected.lengths[row])
        assert len(clip) >= length
        torch.testing.assert_close(clip[:length], expected.poses[row, :length], atol=1e-5, rtol=0)


def test_frames_arrive_before_generation_ends():
    events = []

    class Recorder(PoseStreamer):
        def put(self, poses, rows):
            events.append(("put", poses.shape[1]))

        def end(self, lengths):
            events.append(("end", lengths.tolist()))

    config = SignLLMConfig(**TINY, max_frames=6, stop_rule="threshold", stop_threshold=1.0)
    model = SignLLMForPoseGeneration(config).eval()
    out = model.generate(torch.tensor([[5, 6, 7]]), language="ase", streamer=Recorder())
    assert out.lengths.tolist() == [6]
    assert events == [("put", 1)] * 6 + [("end", [6])]


def test_an_error_in_generation_reaches_the_consumer():
    model = SignLLMForPoseGeneration(SignLLMConfig(**TINY, max_positions=50, max_frames=10)).eval()
    with pytest.raises(ValueError, match="max_frames"):
        list(model.stream(torch.tensor([[5, 6, 7]]), language="ase", max_frames=51, timeout=60))
