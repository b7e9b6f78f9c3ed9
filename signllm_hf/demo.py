"""``signllm demo``: a browser app that signs what you type, drawn live as the frames are decoded.

    signllm demo                          # the quickstart's signer (signllm-quickstart/signer)
    signllm demo models/tiny-signer --port 7860 [--host 0.0.0.0] [--share]

Type a word, a sentence or (with a Prompt2LangGloss model) a prompt, pick one of the model's sign languages and press
Sign. The signer appears frame by frame while the model decodes: a 3D skeleton you turn by dragging (double-click
faces it front again), each hand drawn again beside it, zoomed, so its handshape reads. Once done it loops; the
slider and Play/Pause step through it. Downloads: the ``.pose`` file (MediaPipe Holistic layout, as pose-format and
sign.mt read it), a ``.gif`` and, with the ``viz`` extra (imageio-ffmpeg), an ``.mp4``.

The page loads nothing from the network: the viewer is a small script of ours (``demo_viewer.js``, a 2D canvas with
its own 3D rotation) in a ``gr.HTML`` component, and the theme uses the system's fonts. It needs the ``demo`` extra:
``pip install 'signllm-hf[demo]'``.

The model side works without Gradio: :func:`sign_streaming` yields what the viewer draws.

    >>> from transformers import pipeline
    >>> from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration
    >>> from signllm_hf.tokenization_signllm import train_text_tokenizer
    >>> config = SignLLMConfig(vocab_size=300, d_model=16, ffn_dim=32, attention_heads=2, encoder_layers=1,
    ...                        decoder_layers=1, max_frames=6, stop_rule="threshold", stop_threshold=1.0)
    >>> signer = pipeline("text-to-pose", model=SignLLMForPoseGeneration(config),
    ...                   tokenizer=train_text_tokenizer(["hello world"], vocab_size=300))
    >>> updates = list(sign_streaming(signer, "hello", language="ase", every=4))
    >>> [(len(update.frames), update.done) for update in updates]  # 4 frames while decoding, then the whole clip
    [(4, False), (6, True)]
    >>> text = pose_stream_text(updates[-1])  # what the viewer reads: a header, a line per frame, the end
    >>> lines = text.splitlines()
    >>> sum(line.startswith("F ") for line in lines), lines[-1]
    (6, 'E 6')
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch

from .data.languages import get_language
from .data.pose_files import write_pose_file
from .data.skeleton import BONES, JOINT_GROUPS
from .pipeline_signllm import load_text_to_pose
from .render import render_frames, save_animation
from .streaming import PoseIteratorStreamer

QUICKSTART_SIGNER = Path("signllm-quickstart") / "signer"  # where `signllm quickstart` saves its signer
FROM_PROMPT = "from the prompt"  # the language choice of a Prompt2LangGloss model that reads it from the prompt
STREAM_HEADER = "#signllm-pose "
# System fonts only: Gradio's default theme would fetch its fonts from Google's servers.
SANS = ["ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
VIEWER_HTML = """
<div class="signllm-viewer">
  <canvas class="signllm-main" width="520" height="520"></canvas>
  <div class="signllm-hands">
    <canvas class="signllm-left" width="250" height="250"></canvas>
    <canvas class="signllm-right" width="250" height="250"></canvas>
  </div>
  <div class="signllm-controls">
    <button class="signllm-play" type="button">Pause</button>
    <input class="signllm-scrub" type="range" min="0" max="0" value="0" step="1">
    <span>drag to turn, double-click to face front</span>
  </div>
</div>
"""
VIEWER_CSS = """
.signllm-viewer { display: grid; grid-template-columns: minmax(0, 520px) minmax(0, 250px); gap: 8px; }
.signllm-viewer canvas { width: 100%; height: auto; border: 1px solid #ddd; border-radius: 6px; cursor: grab;
  touch-action: none; background: #fff; }
.signllm-hands { display: flex; flex-direction: column; gap: 8px; }
.signllm-controls { grid-column: 1 / -1; display: flex; gap: 8px; align-items: center; font-size: 13px; }
.signllm-scrub { flex: 1; }
"""


@dataclass
class Signing:
    """A demo run so far: ``frames`` ``(T, 50, 3)`` decoded until now (data coordinates); once ``done``, the whole
    clip cut to its final length, and ``streamed`` every frame streamed (a few more where the counter rule ended the
    clip at an earlier peak). ``run`` tells runs apart (the viewer starts over on a new one)."""

    text: str
    language: str
    fps: float
    frames: np.ndarray
    done: bool = False
    langgloss: str | None = None
    run: str = field(default_factory=lambda: os.urandom(4).hex())
    seconds_to_first_frame: float | None = None
    streamed: np.ndarray | None = None


def default_model() -> Path:
    """The quickstart's signer (``signllm-quickstart/signer``) when it is there; otherwise a FileNotFoundError that
    says how to get a model."""
    if (QUICKSTART_SIGNER / "config.json").is_file():
        return QUICKSTART_SIGNER
    raise FileNotFoundError(
        f"no model given, and no quickstart signer in {QUICKSTART_SIGNER}: train one with `signllm quickstart` "
        "(about ten CPU minutes, run from this folder), or pass a saved model folder: signllm demo MODEL_DIR"
    )


def model_languages(signer) -> list[str]:
    """The canonical codes of the languages a loaded ``text-to-pose`` pipeline signs."""
    if getattr(signer, "pose_tokenizer", None) is not None:  # a language model with pose tokens
        from . import modeling_signllm_pose_lm as pose_lm  # noqa: PLC0415 - only for that kind of model

        return list(pose_lm.PoseVocabulary.from_config(signer.model.config).languages)
    return list(signer.model.config.languages)


def language_choices(signer) -> list[tuple[str, str]]:
    """(label, value) pairs for the language picker: the model's languages by name and ISO 639-3 code, and for a
    Prompt2LangGloss model first a choice that lets the prompt name the language."""
    choices = []
    for code in model_languages(signer):
        language = get_language(code)
        short = f"{language.short_name} - " if language.short_name != code else ""
        choices.append((f"{short}{language.name} ({code})", code))
    if getattr(signer, "prompt_stage", None) is not None:
        choices.insert(0, ("the one the prompt names", FROM_PROMPT))
    return choices


def sign_streaming(signer, text: str, language: str | None = None, every: int = 4) -> Iterator[Signing]:
    """Sign ``text`` with a loaded ``text-to-pose`` pipeline, yielding a :class:`Signing` each time ``every`` more
    frames are decoded, and a last one (``done``) with the clip cut to its final length. A model that writes its clip
    in one pass (``decoding="parallel"``, or a language model with pose tokens) yields once, done.

    The final length comes from the streamer once generation ends: a clip that the counter rule ends at an earlier
    peak streamed a few frames past its end, which the last update keeps in ``streamed`` for the viewer."""
    if every < 1:
        raise ValueError(f"`every` must be >= 1, got {every}")
    started = time.perf_counter()
    if getattr(signer, "pose_tokenizer", None) is not None:  # pose ids decoded at the end: nothing to stream
        result = signer(text, language=language)
        yield Signing(text, result["language"], result["fps"], result["pose"], done=True)
        return
    inputs = signer.preprocess(text, language=language)  # tokenised; a Prompt2LangGloss model's LangGloss first
    model, fps, run = signer.model, float(signer.model.config.fps), os.urandom(4).hex()
    streamer = PoseIteratorStreamer()
    ids, mask = inputs["input_ids"].to(model.device), inputs["attention_mask"].to(model.device)
    frames, shown, first = [], 0, None
    for chunk in model.stream(ids, mask, language=inputs["language"], streamer=streamer):  # chunk.poses (1, n, 50, 3)
        first = first if first is not None else time.perf_counter() - started
        frames.extend(chunk.poses[0].float().numpy())
        if len(frames) - shown >= every:
            shown = len(frames)
            yield Signing(text, inputs["language"], fps, np.stack(frames), False, inputs.get("langgloss"), run, first)
    streamed = np.stack(frames).astype(np.float32)  # (T', 50, 3)
    pose = streamed[: int(streamer.lengths[0])]
    yield Signing(text, inputs["language"], fps, pose, True, inputs.get("langgloss"), run, first, streamed)


def pose_stream_text(signing: Signing) -> str:
    """The viewer's input: a header line, one ``F x y z ...`` line per frame streamed and, when done, ``E length``
    (the viewer drops frames past it). A later update of the same run only appends lines, so Gradio sends only the
    new ones (it streams string appends)."""
    header = {"fps": signing.fps, "language": signing.language, "run": signing.run, "text": signing.text}
    frames = signing.streamed if signing.streamed is not None else signing.frames
    lines = [STREAM_HEADER + json.dumps(header, sort_keys=True)]
    lines += ["F " + " ".join(f"{value:.5g}" for value in frame.ravel().tolist()) for frame in frames]
    if signing.done:
        lines.append(f"E {len(signing.frames)}")
    return "\n".join(lines) + "\n"


def mp4_available() -> bool:
    """Whether MP4 can be written: the ``viz`` extra (imageio and imageio-ffmpeg) is installed."""
    return find_spec("imageio") is not None and find_spec("imageio_ffmpeg") is not None


def write_downloads(signing: Signing, folder: str | os.PathLike, size: int = 320) -> list[Path]:
    """Write the clip as ``.pose``, ``.gif`` and (when :func:`mp4_available`) ``.mp4`` into ``folder``, named after
    the text; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w-]+", "-", signing.text.strip().lower()).strip("-")[:40] or "signing"
    paths = [write_pose_file(folder / f"{stem}.pose", signing.frames, signing.fps)]
    frames = render_frames([signing.frames], titles=[signing.text[:40]], size=size)
    paths.append(save_animation(frames, folder / f"{stem}.gif", signing.fps))
    if mp4_available():
        paths.append(save_animation(frames, folder / f"{stem}.mp4", signing.fps))
    return paths


def _gradio():
    try:
        import gradio  # noqa: PLC0415 - heavy and optional: only the demo needs it
    except ImportError:
        raise ImportError("the demo needs Gradio: pip install 'signllm-hf[demo]'") from None
    return gradio


def _status(signing: Signing) -> str:
    language = get_language(signing.language)
    seconds = len(signing.frames) / signing.fps
    lines = [f"**{language.short_name}** ({language.name}, `{signing.language}`)"]
    if signing.langgloss:
        lines.append(f"LangGloss: `{signing.langgloss}`")
    if signing.done:
        lines.append(f"{len(signing.frames)} frames, {seconds:.2f} s at {signing.fps:g} fps")
    else:
        lines.append(f"decoding ... {len(signing.frames)} frames")
    if signing.seconds_to_first_frame is not None:
        lines.append(f"first frame after {1000 * signing.seconds_to_first_frame:.0f} ms")
    return " · ".join(lines)


def build_demo(model, device: str = "cpu", dtype: torch.dtype | None = None, every: int = 4):
    """The Gradio app (a ``gr.Blocks``) for ``model``, a saved model folder or a loaded ``text-to-pose`` pipeline;
    ``launch_demo`` serves it. ``every``: frames per update of the viewer while decoding. Needs the ``demo``
    extra."""
    gr = _gradio()
    signer = load_text_to_pose(model, device=device, dtype=dtype) if isinstance(model, str | os.PathLike) else model
    model_name = model if isinstance(model, str | os.PathLike) else signer.model.name_or_path
    choices = language_choices(signer)
    viewer_js = resources.files(__package__).joinpath("demo_viewer.js").read_text(encoding="utf-8")
    bones = [[parent, child, next(g for g, (_, joints, _) in enumerate(JOINT_GROUPS) if child in joints)]
             for parent, child, _ in BONES]  # fmt: skip
    colors = [list(color) for _, _, color in JOINT_GROUPS]
    mp4_note = "" if mp4_available() else " (MP4 needs the viz extra: pip install 'signllm-hf[viz]')"
    placeholder = (
        "a word, a sentence, or a prompt such as: How do I sign 'hello' in ASL?"
        if signer.prompt_stage is not None
        else "a word or a sentence"
    )

    def sign(text, language):
        if not text or not text.strip():
            raise gr.Error("Type a word or a sentence to sign.")
        folder = tempfile.mkdtemp(prefix="signllm-demo-")
        try:
            updates = sign_streaming(signer, text.strip(), None if language == FROM_PROMPT else language, every)
            for signing in updates:
                if not signing.done:
                    yield pose_stream_text(signing), _status(signing), gr.skip()
                else:
                    files = [str(path) for path in write_downloads(signing, folder)]
                    yield pose_stream_text(signing), _status(signing) + mp4_note, files
        except ValueError as error:  # the input: an unknown language, a prompt with nothing to sign, ...
            raise gr.Error(str(error)) from None
        finally:  # Gradio has copied the files into its cache by now
            shutil.rmtree(folder, ignore_errors=True)

    # Downloads stay in Gradio's cache for an hour.
    with gr.Blocks(title="SignLLM", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        gr.Markdown(f"## SignLLM: text to sign language\nModel: `{model_name}`")
        with gr.Row():
            text = gr.Textbox(label="Text", placeholder=placeholder, elem_id="signllm-text", scale=4)
            language = gr.Dropdown(
                choices, value=choices[0][1], label="Sign language", elem_id="signllm-language", scale=2
            )
            button = gr.Button("Sign", variant="primary", elem_id="signllm-sign", scale=1)
        status = gr.Markdown(elem_id="signllm-status")
        viewer = gr.HTML(
            "",
            html_template=VIEWER_HTML,
            css_template=VIEWER_CSS,
            js_on_load=viewer_js,
            elem_id="signllm-viewer",
            bones=bones,
            colors=colors,
        )
        files = gr.File(label="Downloads: .pose, .gif, .mp4", file_count="multiple", elem_id="signllm-files")
        for trigger in (button.click, text.submit):
            trigger(sign, [text, language], [viewer, status, files], show_progress="hidden")
    return demo


def launch_demo(
    model=None,
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
    device: str = "cpu",
    dtype: torch.dtype | None = None,
    block: bool = True,
):
    """Serve the app of ``model`` (a saved model folder or a loaded pipeline; default: :func:`default_model`) at
    ``http://host:port``; ``share`` also asks Gradio for a public link. With ``block=False`` it returns the running
    app (close it with ``.close()``)."""
    gr = _gradio()
    demo = build_demo(model if model is not None else default_model(), device=device, dtype=dtype)
    theme = gr.themes.Default(font=SANS, font_mono=MONO)
    demo.queue().launch(
        server_name=host,
        server_port=port,
        share=share,
        theme=theme,
        ssr_mode=False,
        prevent_thread_lock=not block,
        quiet=not block,
    )
    return demo
