"""Configuration of the letter reader: the fingerspelling judge that reads letters back from poses.

Example:
    >>> from signllm_hf.evaluation.judges import SignLLMLetterReaderConfig
    >>> config = SignLLMLetterReaderConfig(language_units={"ase": ["A", "B"], "gsg": ["A", "SCH"]})
    >>> config.languages, config.units, config.num_classes  # a CTC blank, then every unit
    (['ase', 'gsg'], ['A', 'B', 'SCH'], 4)
"""

from __future__ import annotations

from dataclasses import field

from transformers import PreTrainedConfig

SIDES = ("right", "left")


class SignLLMLetterReaderConfig(PreTrainedConfig):
    r"""Configuration of [`SignLLMLetterReader`].

    Letters:
        language_units: each sign language's units (letters or letter groups such as ``SCH``), as its lexicon
            writes them; ``languages`` and ``units`` (the union, sorted) are derived from it.
        dominant_side: each language's signing hand, ``"right"`` or ``"left"`` (default right); the reader looks at
            that hand relative to its wrist and that arm relative to the neck, which do not depend on how a tool
            filled the other, unseen arm.
    Network:
        d_model, conv_layers, kernel_size, rnn_layers, dropout: a temporal convolution stack, then a bidirectional
            GRU, then a CTC head over the blank and the units; the language is added as an embedding and masks the
            units of other languages.
        downsample: the convolutions halve the frame rate this many times (a letter lasts 10-30 frames at 25 fps:
            one output every other frame is plenty for CTC, and the GRU, the slow part on a CPU, runs half as long).
        max_frames: the longest sequence read.
    """

    model_type = "signllm_letter_reader"

    language_units: dict[str, list[str]] = field(default_factory=dict)
    dominant_side: dict[str, str] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    d_model: int = 192
    conv_layers: int = 3
    kernel_size: int = 5
    rnn_layers: int = 1
    downsample: int = 1
    dropout: float = 0.1
    max_frames: int = 2000
    fps: float = 25.0

    def __post_init__(self, **kwargs):
        self.language_units = {code: list(dict.fromkeys(units)) for code, units in self.language_units.items()}
        self.languages = sorted(self.language_units)
        self.units = sorted({unit for units in self.language_units.values() for unit in units})
        for code, side in self.dominant_side.items():
            if side not in SIDES:
                raise ValueError(f"`dominant_side[{code!r}]` must be one of {SIDES}, got {side!r}")
        if not 0 <= self.downsample <= self.conv_layers:
            raise ValueError(
                f"`downsample` must be between 0 and `conv_layers` ({self.conv_layers}): each halving follows a "
                f"convolution block; got {self.downsample}"
            )
        for name in ("d_model", "conv_layers", "kernel_size", "rnn_layers", "max_frames"):
            if getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be > 0, got {getattr(self, name)}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"`kernel_size` must be odd (a centred window), got {self.kernel_size}")
        if self.d_model % 2:
            raise ValueError(f"`d_model` must be even (two GRU directions of d_model / 2), got {self.d_model}")
        super().__post_init__(**kwargs)

    @property
    def num_classes(self) -> int:
        """The CTC blank (id 0) and every unit (ids 1..)."""
        return len(self.units) + 1

    def side(self, language: str) -> str:
        return self.dominant_side.get(language, "right")
