"""Frames as they are decoded: streamers for [`SignLLMForPoseGeneration.generate`], in the manner of transformers'
``TextStreamer`` / ``TextIteratorStreamer``.

``generate(..., streamer=s)`` calls ``s.put(poses, rows)`` with every step's new frames (``poses`` ``(b, n, J, 3)``
in the data's coordinates, for the batch rows ``rows`` that were still signing: one frame per step for an
autoregressive model, the whole clip at once for ``decoding="parallel"``) and ``s.end(lengths)`` once, with each
row's final length. A clip that the ``"counter"`` stop rule ends at an earlier peak has then streamed a few frames
past its end: ``end`` says where it ends, and ``PoseIteratorStreamer`` drops nothing already handed out.

Example:
    >>> import torch
    >>> from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration
    >>> from signllm_hf.streaming import PoseIteratorStreamer
    >>> config = SignLLMConfig(vocab_size=20, d_model=16, ffn_dim=32, attention_heads=2, encoder_layers=1,
    ...                        decoder_layers=1, max_frames=5, stop_rule="threshold", stop_threshold=1.0)
    >>> model = SignLLMForPoseGeneration(config).eval()
    >>> chunks = list(model.stream(torch.tensor([[5, 6, 7]]), language="ase"))
    >>> len(chunks), tuple(chunks[0].poses.shape), chunks[0].rows.tolist()  # one frame at a time, as decoded
    (5, (1, 1, 50, 3), [0])
"""

from __future__ import annotations

import queue
from dataclasses import dataclass

import torch


class PoseStreamer:
    """Base class: receives generated frames as they are decoded. Override ``put`` (and ``end`` if needed)."""

    def put(self, poses: torch.Tensor, rows: torch.Tensor) -> None:
        """New frames ``(b, n, J, 3)`` (data coordinates) of the batch rows ``rows`` ``(b,)``."""
        raise NotImplementedError

    def end(self, lengths: torch.Tensor) -> None:
        """Generation is over; ``lengths`` ``(B,)`` are the clips' final lengths."""


@dataclass
class PoseChunk:
    """New frames of some rows of the batch: ``poses`` ``(b, n, J, 3)`` for batch rows ``rows`` ``(b,)``."""

    poses: torch.Tensor
    rows: torch.Tensor


class PoseIteratorStreamer(PoseStreamer):
    """Hands the frames to another thread: iterate over it while ``generate`` runs in a thread of its own (what
    [`SignLLMForPoseGeneration.stream`] does). Yields [`PoseChunk`]s; ``lengths`` holds the final lengths once the
    iteration is over. ``timeout`` (seconds) bounds the wait for the next chunk (None: no bound)."""

    _END = object()

    def __init__(self, timeout: float | None = None):
        self.queue: queue.Queue = queue.Queue()
        self.timeout = timeout
        self.lengths: torch.Tensor | None = None

    def put(self, poses: torch.Tensor, rows: torch.Tensor) -> None:
        self.queue.put(PoseChunk(poses.detach().cpu(), rows.detach().cpu()))

    def end(self, lengths: torch.Tensor) -> None:
        self.lengths = lengths.detach().cpu()
        self.queue.put(self._END)

    def fail(self, error: BaseException) -> None:
        """Generation raised: the consumer gets the error instead of waiting forever."""
        self.queue.put(error)

    def __iter__(self):
        return self

    def __next__(self) -> PoseChunk:
        item = self.queue.get(timeout=self.timeout)
        if item is self._END:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item


__all__ = ["PoseChunk", "PoseIteratorStreamer", "PoseStreamer"]
