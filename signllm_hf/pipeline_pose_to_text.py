"""The ``pose-to-text`` pipeline: sign language poses in, text out (translation), with a language model that reads
pose tokens or continuous pose features (``signllm_hf.modeling_signllm_pose_lm``).

Example:
    >>> from transformers import pipeline
    >>> import signllm_hf  # registers the task  # doctest: +SKIP
    >>> reader = pipeline("pose-to-text", model="path/to/pose-lm")  # doctest: +SKIP
    >>> reader("clip.pose", language="ASL")  # doctest: +SKIP
    {'text': 'hello', 'language': 'ase'}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import Pipeline

from . import modeling_signllm_pose_lm as pose_lm
from . import modeling_signllm_pose_projector as projection
from .data.collator import pad_poses


class PoseToTextPipeline(Pipeline):
    """Translate poses into text with a language model that has pose tokens.

    Inputs: a pose array ``(T, 50, 3)`` or ``(T, 150)`` in the data's coordinates, a ``.pose`` file path, or a dict
    ``{"pose": ..., "language": ...}``; or a list of them. Call arguments: ``language`` (any alias; optional when
    the model has one), ``max_new_tokens`` (default 64), ``num_beams`` (default 1). Each result is a dict with
    ``text`` and ``language``.

    The model reads pose tokens (the poses go through the pose tokenizer: ``pose_tokenizer=`` or the model folder's
    ``pose_tokenizer/``) or, when it has a projector (``projector=`` or the folder's ``pose_projector/``) and
    ``features=True`` (the default when it has a projector and no pose tokenizer), continuous features.
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_video_processor = False

    def __init__(self, *args, pose_tokenizer=None, projector=None, features: bool | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.vocabulary = pose_lm.PoseVocabulary.from_config(self.model.config)  # raises for a model without
        folder = self.model.name_or_path
        if folder and Path(folder).is_dir():
            self.tokenizer = pose_lm.load_pose_lm_tokenizer(folder, self.tokenizer)
        if projector is None and folder:
            projector = projection.load_projector(folder)
        has_own = folder and (Path(folder) / pose_lm.POSE_TOKENIZER_DIR).is_dir()
        if pose_tokenizer is None and not features and (has_own or projector is None):
            pose_tokenizer = pose_lm.load_pose_tokenizer(folder)
        self.features = projector is not None and (features or (features is None and pose_tokenizer is None))
        if features and projector is None:
            raise ValueError("features=True needs a projector (projector= or the model folder's pose_projector/)")
        self.projector = projector.to(self.device).eval() if self.features else None
        self.pose_tokenizer = None if self.features else pose_lm.PoseTokenizerAdapter.wrap(pose_tokenizer)

    def _sanitize_parameters(self, language=None, max_new_tokens=None, num_beams=None, **kwargs):
        preprocess, forward = {}, {}
        if language is not None:
            preprocess["language"] = language
        if max_new_tokens is not None:
            forward["max_new_tokens"] = max_new_tokens
        if num_beams is not None:
            forward["num_beams"] = num_beams
        return preprocess, forward, {}

    def preprocess(self, pose, language=None):
        if isinstance(pose, dict):
            pose, language = pose.get("pose"), pose.get("language", language)
        if isinstance(pose, str) or hasattr(pose, "__fspath__"):
            from .data.pose_files import read_pose_file  # noqa: PLC0415

            pose = read_pose_file(pose).pose
        frames = torch.as_tensor(np.asarray(pose, dtype=np.float32))
        if frames.ndim not in (2, 3) or frames.shape[0] == 0 or frames[0].numel() != 150:
            raise ValueError(f"a pose is (T, 50, 3) or (T, 150) with T > 0, got {tuple(frames.shape)}")
        frames = frames.reshape(1, len(frames), 150)
        return {
            "poses": frames,
            "frame_mask": torch.ones(1, frames.shape[1], dtype=torch.long),
            "language": self.vocabulary.resolve_language(language),
        }

    def _forward(self, inputs, max_new_tokens: int = 64, num_beams: int = 1):
        languages = inputs["language"] if isinstance(inputs["language"], list) else [inputs["language"]]
        mask = inputs["frame_mask"].bool()
        clips = [poses[keep] for poses, keep in zip(inputs["poses"], mask)]  # padding may be on either side
        if self.features:
            poses, frame_mask = pad_poses(clips)  # (B, T, 150), padded on the right
            texts = projection.generate_text_from_features(
                self.model, self.tokenizer, self.projector, poses, frame_mask, languages, max_new_tokens, num_beams
            )
        else:
            codes = pose_lm.encode_pose_codes(self.pose_tokenizer, clips)
            texts = pose_lm.generate_text_from_codes(
                self.model, self.tokenizer, codes, languages, max_new_tokens, num_beams
            )
        return {"text": texts, "language": languages}

    def postprocess(self, outputs):
        text, language = outputs["text"], outputs["language"]
        return {
            "text": text[0] if isinstance(text, list) else text,
            "language": language[0] if isinstance(language, list) else language,
        }
