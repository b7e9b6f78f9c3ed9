"""The ``text-to-pose`` pipeline: text (one or a list) and a language in, poses in the data's coordinates out.

Example:
    >>> from transformers import pipeline
    >>> import signllm_hf  # registers the task  # doctest: +SKIP
    >>> signer = pipeline("text-to-pose", model="path/to/signllm-model")  # doctest: +SKIP
    >>> result = signer("the sky is blue", language="ASL", gif_path="sky.gif")  # doctest: +SKIP
    >>> result["pose"].shape, result["fps"]  # doctest: +SKIP
    ((87, 50, 3), 25.0)

On a Prompt2LangGloss checkpoint (``mode="prompt2langgloss"``, with its prompt stage in ``prompt_to_langgloss/``) the
input may be a prompt that names the language, and each result also holds the ``langgloss`` the prompt stage wrote:

    >>> signer = pipeline("text-to-pose", model="path/to/prompt2langgloss-model")  # doctest: +SKIP
    >>> signer("How do I sign 'the sky is blue' in DGS?")["langgloss"]  # doctest: +SKIP
    '<GSL_sky> <GSL_blue>'
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
from transformers import AutoModel, AutoTokenizer, Pipeline, pipeline

logger = logging.getLogger(__name__)
JSON_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def load_text_to_pose(model_dir: str | os.PathLike, device="cpu", dtype=None) -> TextToPosePipeline:
    """The ``text-to-pose`` pipeline of a saved model folder, where a fault of the folder is one error that names
    the file: FileNotFoundError for a missing folder or config.json; ValueError for a malformed JSON file, unreadable
    or missing weights, a language without weights, or a tokenizer that cannot be loaded.

    >>> load_text_to_pose("no/such/folder")
    Traceback (most recent call last):
    FileNotFoundError: no/such/folder: no such model folder (expected config.json + model.safetensors)
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{model_dir}: no such model folder (expected config.json + model.safetensors)")
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder / 'config.json'}: missing; {model_dir} is not a saved model folder")
    for name in JSON_FILES:
        path = folder / name
        if path.is_file():
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as error:
                raise ValueError(
                    f"{path}: not valid JSON ({error}); restore the file from where the model was saved, or save "
                    "the model again"
                ) from None
    # Loaded here rather than by pipeline(), which would bury these errors in a traceback per model class it tried.
    try:
        model = AutoModel.from_pretrained(str(folder), dtype=dtype)
    except OSError as error:  # transformers' "no file named model.safetensors", a file it may not read, ...
        raise ValueError(f"{model_dir}: cannot load the model ({error})") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__  # one line, for the command's one-line error
        raise ValueError(
            f"{model_dir}: cannot load the tokenizer saved with the model ({reason}); save it there again with "
            "tokenizer.save_pretrained"
        ) from None
    return pipeline("text-to-pose", model=model, tokenizer=tokenizer, device=device)


class TextToPosePipeline(Pipeline):
    """Generate sign language poses from text with a [`SignLLMForPoseGeneration`] model.

    Call arguments: ``language`` (any alias; optional when the model has one language; for a list of texts, one
    language or a list of one per text), ``max_frames``, and ``pose_path`` / ``gif_path`` to also write a pose-format
    file / an animation (for a list of inputs the paths must contain ``{index}``). Inputs may also be dicts
    ``{"text": ..., "language": ...}``. Each result is a dict with ``pose`` (np.ndarray (T, 50, 3), in the data's
    coordinates), ``fps``, ``language``, ``text``, ``counter`` (T,) and the written paths. Text longer than the
    model's ``max_text_length`` tokens is truncated, with a warning.

    Prompt2LangGloss models first turn each input (a prompt or a plain text) into LangGloss with their prompt stage:
    the language is ``language`` when given, else the one the prompt names (a prompt that names none is an error);
    results add ``langgloss``. An input in which the prompt stage finds nothing to sign is an error.
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_video_processor = False

    def _sanitize_parameters(self, language=None, max_frames=None, **kwargs):
        preprocess, forward = {}, {}
        if language is not None:
            preprocess["language"] = language
        if max_frames is not None:  # checked now (a whole number within the model's limit), not after tokenizing
            forward["max_frames"] = self.model.config.resolve_max_frames(max_frames)
        return preprocess, forward, {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if getattr(self.model.config, "model_type", None) != "signllm":
            raise ValueError(
                f"the text-to-pose pipeline needs a SignLLM model, got a {self.model.config.model_type!r} model"
            )
        self.prompt_stage = None
        if self.model.config.mode == "prompt2langgloss":
            from .modeling_prompt_stage import PromptToLangGloss  # noqa: PLC0415

            self.prompt_stage = PromptToLangGloss.from_pretrained(self.model.name_or_path, device=self.device)

    def __call__(self, inputs, pose_path=None, gif_path=None, **kwargs):
        # Files are written after the pipeline has unbatched its outputs, one result at a time.
        paths = {"pose_path": pose_path, "gif_path": gif_path}
        language = kwargs.get("language")
        if isinstance(language, list | tuple):  # one language per text: carried by each input
            if not isinstance(inputs, list | tuple) or len(inputs) != len(language):
                raise ValueError("a list of languages needs a list of texts of the same length")
            inputs = [{"text": text, "language": code} for text, code in zip(inputs, kwargs.pop("language"))]
        if isinstance(inputs, list | tuple):
            for key, path in paths.items():
                if path is not None and "{index}" not in str(path):
                    raise ValueError(f"for a list of texts, `{key}` must contain '{{index}}', got {path!r}")
            results = super().__call__(list(inputs), **kwargs)
            return [self._write_files(result, index, paths) for index, result in enumerate(results)]
        return self._write_files(super().__call__(inputs, **kwargs), None, paths)

    def preprocess(self, text, language=None):
        if isinstance(text, dict):  # {"text": ..., "language": ...}
            text, language = text.get("text"), text.get("language", language)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"the text to sign must be a non-empty string, got {text!r}")
        langgloss = None
        if self.prompt_stage is not None:
            from .data.langgloss import named_languages  # noqa: PLC0415
            from .modeling_prompt_stage import prompt_language  # noqa: PLC0415

            languages = self.model.config.languages
            if language is None and len(languages) == 1 and not named_languages(text):  # as in MLSF: its one language
                language = languages[0]
            code = self.model.resolve_language(prompt_language(text, language))
            langgloss = self.prompt_stage([text], [code])[0]
            if not langgloss:
                raise ValueError(
                    f"found nothing to sign in {text[:80]!r}: put the sentence in quotes, e.g. "
                    f"\"How do I sign 'the sky is blue' in ASL?\", or pass the plain sentence with language="
                )
            encoded = self.tokenizer(
                langgloss, truncation=True, max_length=self.model.config.max_text_length, return_tensors="pt"
            )
            return {
                "input_ids": encoded["input_ids"],
                "attention_mask": encoded["attention_mask"],
                "language": code,
                "text": text,
                "langgloss": langgloss,
            }
        if language is None:
            if len(self.model.config.languages) > 1:
                raise ValueError(f"pass `language=`: this model signs {self.model.config.languages}")
            language = self.model.config.languages[0]
        code = self.model.resolve_language(language)  # raises with the model's languages
        limit = self.model.config.max_text_length
        encoded = self.tokenizer(text, truncation=True, max_length=limit, return_tensors="pt")
        if len(self.tokenizer(text)["input_ids"]) > limit:
            logger.warning("the text has more than max_text_length=%d tokens and was truncated: %r", limit, text[:80])
        return {
            "input_ids": encoded["input_ids"],
            "attention_mask": encoded["attention_mask"],
            "language": code,
            "text": text,
        }

    def _forward(self, inputs, max_frames=None):
        languages = inputs["language"]
        generated = self.model.generate(
            inputs["input_ids"], inputs["attention_mask"], language=languages, max_frames=max_frames
        )
        batch = inputs["input_ids"].shape[0]
        return {
            "poses": generated.poses,
            "lengths": generated.lengths,
            "counters": generated.counters,
            "language": languages if isinstance(languages, list) else [languages] * batch,
            "text": inputs["text"] if isinstance(inputs["text"], list) else [inputs["text"]] * batch,
            "langgloss": inputs.get("langgloss"),
        }

    def postprocess(self, outputs):
        length = int(outputs["lengths"].reshape(-1)[0])
        language = outputs["language"][0] if isinstance(outputs["language"], list) else outputs["language"]
        text = outputs["text"][0] if isinstance(outputs["text"], list) else outputs["text"]
        langgloss = outputs.get("langgloss")
        extra = {} if langgloss is None else {"langgloss": langgloss[0] if isinstance(langgloss, list) else langgloss}
        return extra | {
            "pose": outputs["poses"].reshape(-1, *outputs["poses"].shape[-3:])[0, :length].numpy().astype(np.float32),
            "counter": outputs["counters"].reshape(-1, outputs["counters"].shape[-1])[0, :length].numpy(),
            "fps": float(self.model.config.fps),
            "language": language,
            "text": text,
        }

    def _write_files(self, result: dict, index: int | None, paths: dict) -> dict:
        from .data.pose_files import write_pose_file  # noqa: PLC0415 - only when files are asked for
        from .data.skeleton import PoseClip  # noqa: PLC0415
        from .render import render_clips  # noqa: PLC0415

        pose_path, gif_path = paths["pose_path"], paths["gif_path"]
        if pose_path is not None:
            path = str(pose_path).format(index=index) if index is not None else str(pose_path)
            result["pose_path"] = str(write_pose_file(path, result["pose"], result["fps"]))
        if gif_path is not None:
            path = str(gif_path).format(index=index) if index is not None else str(gif_path)
            clip = PoseClip(result["pose"], None, result["fps"], source="generated pose")
            result["gif_path"] = str(render_clips([clip], path, titles=[result["text"][:40]]))
        return result
