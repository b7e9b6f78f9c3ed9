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

A language model with pose tokens (``signllm_hf.modeling_signllm_pose_lm``, saved with its pose tokenizer in
``pose_tokenizer/``) is served the same way, with the same results: it writes pose ids, the pose tokenizer turns them
into frames, and ``counter`` is ``(t + 1) / T``.

Many texts: pass a list and ``batch_size``. The default signs one text at a time; ``batch_size=16`` is several times
faster (48 texts, a Base model, 60 frames each, one CPU core: 10.1 s at the default, 1.5 s with 16;
``python benchmarks/generation.py --pipeline-batch``, ``benchmarks/results/pipeline_batch.md``):

    >>> results = signer(["hello", "the sky is blue", "thank you"], language="ASL", batch_size=16)  # doctest: +SKIP

Without signllm-hf (the Hub's remote code): ``signer.save_pretrained(folder)`` (or ``save_remote_pipeline(folder)``
on a saved model) puts this file beside the model's and names it in config.json (``custom_pipelines``), so that

    >>> signer = pipeline("text-to-pose", model="path/to/signllm-model", trust_remote_code=True)  # doctest: +SKIP

works where the package is not installed. The file then imports nothing of the package; what needs it says so when
used: a Prompt2LangGloss model (its prompt stage), a language model with pose tokens, and ``pose_path`` /
``gif_path``. Only the SignLLM model route of an MLSF model runs as remote code. transformers asks for
``trust_remote_code=True`` whenever config.json names a pipeline, also where signllm-hf is installed: the folders
that training writes do not name it, and load with the installed package alone.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer, Pipeline, pipeline

# No relative imports: this file also runs as a saved model's remote code, where only it, configuration_signllm.py
# and modeling_signllm.py are there. The package's modules are imported in try blocks (transformers' import check
# skips them) and are None without it.
try:
    from signllm_hf import modeling_signllm_pose_lm as pose_lm
    from signllm_hf.data.langgloss import named_languages
    from signllm_hf.modeling_prompt_stage import PromptToLangGloss, keep_language, nothing_to_sign, prompt_language
except ModuleNotFoundError as error:
    if not (error.name or "").startswith("signllm_hf"):
        raise
    pose_lm = named_languages = PromptToLangGloss = keep_language = nothing_to_sign = prompt_language = None

logger = logging.getLogger(__name__)
JSON_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
TASK = "text-to-pose"
# Arguments of token generation that people pass out of habit, and what to use here instead.
TOKEN_GENERATION_HINTS = {"max_new_tokens": "max_frames", "max_length": "max_frames", "min_new_tokens": "max_frames"}
POSE_LM_GENERATE_ARGUMENTS = ("max_frames", "num_beams")  # what the pose LM route's generation reads
PACKAGE_NEEDED = "needs the signllm-hf package (pip install signllm-hf), which this Python does not have"


def save_remote_pipeline(folder: str | os.PathLike) -> Path:
    """Make a saved SignLLM model folder loadable without signllm-hf: copy this file beside the model's own files
    (``configuration_signllm.py`` and ``modeling_signllm.py``, which ``save_pretrained`` writes) and name the pipeline
    in config.json's ``custom_pipelines``, where transformers looks for it. Returns the copied file's path.

    Then ``pipeline("text-to-pose", model=folder, trust_remote_code=True)`` works in a Python without the package.
    """
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path}: missing; save the model into {folder} first")
    target = folder / Path(__file__).name
    if Path(__file__).resolve() != target.resolve():
        shutil.copyfile(__file__, target)
    config = json.loads(config_path.read_text(encoding="utf-8"))
    # "pt" names a transformers class (resolved with getattr(transformers, name)): AutoModel, which the config's
    # auto_map sends to modeling_signllm.py.
    impl = f"{Path(__file__).stem}.{TextToPosePipeline.__name__}"
    config["custom_pipelines"] = {TASK: {"impl": impl, "pt": ["AutoModel"], "type": "text"}}
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


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
        is_pose_lm = pose_lm is not None and pose_lm.CONFIG_KEY in json.loads(
            (folder / "config.json").read_text(encoding="utf-8")
        )
        model = (
            pose_lm.load_pose_lm_model(folder, dtype)
            if is_pose_lm
            else AutoModel.from_pretrained(str(folder), dtype=dtype)
        )
    except OSError as error:  # transformers' "no file named model.safetensors", a file it may not read, ...
        raise ValueError(f"{model_dir}: cannot load the model ({error})") from None
    try:
        tokenizer = (pose_lm.load_pose_lm_tokenizer if is_pose_lm else AutoTokenizer.from_pretrained)(str(folder))
    except (OSError, ValueError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__  # one line, for the command's one-line error
        raise ValueError(
            f"{model_dir}: cannot load the tokenizer saved with the model ({reason}); save it there again with "
            "tokenizer.save_pretrained"
        ) from None
    return pipeline(TASK, model=model, tokenizer=tokenizer, device=device, pipeline_class=TextToPosePipeline)


class TextToPosePipeline(Pipeline):
    """Generate sign language poses from text with a [`SignLLMForPoseGeneration`] model.

    Call arguments: ``language`` (any alias; optional when the model has one language; for a list of texts, one
    language or a list of one per text), ``max_frames``, ``generate_kwargs`` (a dict of further arguments of the
    model's ``generate``; ``max_frames`` may be given there too), ``batch_size`` (for many texts ``batch_size=16`` is
    about 7x faster than the default 1), and ``pose_path`` / ``gif_path`` to also write a pose-format file / an
    animation (for a list of inputs the paths must contain ``{index}``). Any other argument is an error: poses are
    regressed frame by frame, so token generation's ``max_new_tokens``, ``do_sample``, ``temperature`` ... have no
    meaning here (``max_frames`` bounds the length). The same arguments may be given to ``pipeline(...)`` as defaults
    for every call. Inputs may also be dicts
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

    def _sanitize_parameters(self, language=None, max_frames=None, generate_kwargs=None, **unknown):
        accepted = self._generate_arguments()
        if unknown:
            raise ValueError(self._unknown_arguments_message(unknown, accepted))
        if generate_kwargs is not None and not isinstance(generate_kwargs, dict):
            raise ValueError(f"`generate_kwargs` must be a dict, got {type(generate_kwargs).__name__}")
        forward = dict(generate_kwargs or {})
        refused = sorted(set(forward) - set(accepted))
        if refused:
            raise ValueError(
                f"generate_kwargs {refused} are not arguments of this model's generation; it accepts {list(accepted)}"
            )
        if max_frames is not None:
            if "max_frames" in forward and forward["max_frames"] != max_frames:
                raise ValueError(
                    f"max_frames given twice, {max_frames!r} and generate_kwargs['max_frames']="
                    f"{forward['max_frames']!r}: pass one"
                )
            forward["max_frames"] = max_frames
        if forward.get("max_frames") is not None:  # checked now, not after tokenizing
            forward["max_frames"] = self._check_max_frames(forward["max_frames"])
        return ({} if language is None else {"language": language}), forward, {}

    def _generate_arguments(self) -> tuple[str, ...]:
        """The arguments of generation a caller may set (``generate_kwargs`` keys): those of the model's
        ``generate`` that the pipeline does not fill in itself."""
        if getattr(self, "pose_tokenizer", None) is not None:
            return POSE_LM_GENERATE_ARGUMENTS
        filled = {"self", "input_ids", "attention_mask", "language"}
        parameters = inspect.signature(self.model.generate).parameters.values()
        return tuple(p.name for p in parameters if p.name not in filled and p.kind is p.POSITIONAL_OR_KEYWORD)

    @staticmethod
    def _unknown_arguments_message(unknown: dict, accepted) -> str:
        hints = [f"{name}: use {TOKEN_GENERATION_HINTS[name]}" for name in unknown if name in TOKEN_GENERATION_HINTS]
        return (
            f"the {TASK} pipeline does not take {', '.join(map(repr, unknown))}"
            + (f" ({'; '.join(hints)})" if hints else "")
            + ": poses are regressed frame by frame, not sampled as tokens. It takes language, max_frames, "
            f"generate_kwargs={{...}} with keys {list(accepted)}, batch_size, num_workers, pose_path and gif_path"
        )

    def _check_max_frames(self, max_frames):
        if getattr(self, "pose_tokenizer", None) is not None:  # a pose LM
            if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1:
                raise ValueError(f"`max_frames` must be a whole number > 0, got {max_frames!r}")
            return max_frames
        return self.model.config.resolve_max_frames(max_frames)  # a whole number within the model's limit

    def __init__(self, *args, pose_tokenizer=None, **kwargs):
        self.pose_tokenizer = None
        model = kwargs.get("model", args[0] if args else None)
        if pose_lm is None and "pose_vocabulary" in model.config.to_dict():
            raise ImportError(f"a language model with pose tokens {PACKAGE_NEEDED}")
        if pose_lm is not None and pose_lm.has_pose_vocabulary(model.config):  # a language model with pose tokens
            source = pose_tokenizer if pose_tokenizer is not None else pose_lm.load_pose_tokenizer(model.name_or_path)
            self.pose_tokenizer = pose_lm.PoseTokenizerAdapter.wrap(source)
        super().__init__(*args, **kwargs)
        self.prompt_stage = None
        if self.pose_tokenizer is not None:
            if self.model.name_or_path and Path(self.model.name_or_path).is_dir():
                self.tokenizer = pose_lm.load_pose_lm_tokenizer(self.model.name_or_path, self.tokenizer)
            return
        if getattr(self.model.config, "model_type", None) != "signllm":
            raise ValueError(
                f"the text-to-pose pipeline needs a SignLLM model, got a {self.model.config.model_type!r} model "
                "(or a language model with pose tokens: see signllm_hf.modeling_signllm_pose_lm.add_pose_tokens)"
            )
        if self.model.config.mode == "prompt2langgloss":
            if PromptToLangGloss is None:
                raise ImportError(f"a Prompt2LangGloss model (its prompt stage) {PACKAGE_NEEDED}")
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
        if self.pose_tokenizer is not None:
            vocabulary = pose_lm.PoseVocabulary.from_config(self.model.config)
            return {"language": vocabulary.resolve_language(language), "text": text}
        if self.prompt_stage is not None:
            languages = self.model.config.languages
            if language is None and len(languages) == 1 and not named_languages(text):  # as in MLSF: its one language
                language = languages[0]
            code = self.model.resolve_language(prompt_language(text, language))
            written = self.prompt_stage([text], [code], as_written=True)[0]
            langgloss = keep_language(written, code)
            if not langgloss:
                raise ValueError(nothing_to_sign(text, written, code))
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

    def _forward(self, inputs, **generate_kwargs):
        if self.pose_tokenizer is not None:
            return self._forward_pose_lm(inputs, **generate_kwargs)
        languages = inputs["language"]
        generated = self.model.generate(
            inputs["input_ids"], inputs["attention_mask"], language=languages, **generate_kwargs
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

    def _forward_pose_lm(self, inputs, max_frames=None, num_beams=1):
        texts = inputs["text"] if isinstance(inputs["text"], list) else [inputs["text"]]
        languages = inputs["language"] if isinstance(inputs["language"], list) else [inputs["language"]]
        tokens = self.pose_tokenizer.tokens_for_frames(max_frames or 400)
        codes = pose_lm.generate_pose_codes(
            self.model, self.tokenizer, texts, languages, max_pose_tokens=tokens, num_beams=num_beams
        )
        poses, lengths = pose_lm.decode_pose_codes(self.pose_tokenizer, codes)  # (B, T, 150), (B,)
        if max_frames is not None:
            poses, lengths = poses[:, :max_frames], lengths.clamp_max(max_frames)
        steps = torch.arange(1, poses.shape[1] + 1)[None]
        counters = (steps / lengths.clamp_min(1)[:, None]).clamp_max(1.0)  # (B, T): (t + 1) / T
        return {
            "poses": poses.reshape(len(texts), poses.shape[1], -1, 3),
            "lengths": lengths,
            "counters": counters,
            "language": languages,
            "text": texts,
            "langgloss": None,
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
            "fps": float(
                self.model.config.fps
                if self.pose_tokenizer is None
                else pose_lm.PoseVocabulary.from_config(self.model.config).fps
            ),
            "language": language,
            "text": text,
        }

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs):
        """Save the model and its tokenizer (and a Prompt2LangGloss model's prompt stage). For a SignLLM model this
        file is saved beside them and named in config.json (:func:`save_remote_pipeline`), so that the folder loads
        with ``pipeline("text-to-pose", model=folder, trust_remote_code=True)`` where signllm-hf is not installed.
        """
        Path(save_directory).mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(save_directory, **kwargs)
        self.tokenizer.save_pretrained(save_directory, **kwargs)
        if self.prompt_stage is not None:
            self.prompt_stage.save_pretrained(str(save_directory))
        if self.pose_tokenizer is None:
            save_remote_pipeline(save_directory)

    def _write_files(self, result: dict, index: int | None, paths: dict) -> dict:
        pose_path, gif_path = paths["pose_path"], paths["gif_path"]
        if pose_path is None and gif_path is None:
            return result
        try:  # only when files are asked for
            from signllm_hf.data.pose_files import write_pose_file  # noqa: PLC0415
            from signllm_hf.data.skeleton import PoseClip  # noqa: PLC0415
            from signllm_hf.render import render_clips  # noqa: PLC0415
        except ModuleNotFoundError:
            raise ImportError(f"writing pose_path / gif_path {PACKAGE_NEEDED}") from None
        if pose_path is not None:
            path = str(pose_path).format(index=index) if index is not None else str(pose_path)
            result["pose_path"] = str(write_pose_file(path, result["pose"], result["fps"]))
        if gif_path is not None:
            path = str(gif_path).format(index=index) if index is not None else str(gif_path)
            clip = PoseClip(result["pose"], None, result["fps"], source="generated pose")
            result["gif_path"] = str(render_clips([clip], path, titles=[result["text"][:40]]))
        return result
