"""``signllm demo`` in a real browser: Debian's headless Chromium driven by Playwright (the system browser; never
``playwright install``). Types a word, presses Sign, watches the frames arrive while the model decodes, checks that
the canvases changed and that the downloads parse."""

import io
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from signllm_hf import SignLLMForPoseGeneration
from signllm_hf.cli import main
from signllm_hf.data import read_pose_file
from signllm_hf.demo import Signing, default_model, launch_demo, mp4_available, pose_stream_text
from signllm_hf.pipeline_signllm import load_text_to_pose
from tests.conftest import text_tokenizer, tiny_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FRAMES = 40  # the tiny model never stops early (threshold 1.0): every clip has this many frames
STEP_DELAY = 0.02  # seconds added to each decoding step, so that the page sees the frames arrive in several updates


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("signer")
    config = tiny_config(max_frames=FRAMES, stop_rule="threshold", stop_threshold=1.0)
    SignLLMForPoseGeneration(config).save_pretrained(folder)
    text_tokenizer().save_pretrained(folder)
    signer = load_text_to_pose(folder)
    for module in signer.model.modules():  # one call per decoded frame
        if type(module).__name__ == "SignLLMPoseDecoder":
            module.register_forward_pre_hook(lambda *_: time.sleep(STEP_DELAY))
    port = free_port()
    demo = launch_demo(signer, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="no Chromium: apt-get install -y chromium chromium-driver")
def test_demo_signs_in_the_browser(served, tmp_path):
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        outside = []  # the page must load nothing from the network
        page.on("request", lambda r: r.url.startswith(served) or r.url.startswith("data:") or outside.append(r.url))
        page.goto(served)
        viewer = page.locator("[data-signllm-frames]")
        viewer.wait_for(state="attached", timeout=15_000)
        canvases = ["main", "left", "right"]
        picture = "name => document.querySelector(`canvas.signllm-${name}`).toDataURL()"
        before = {name: page.evaluate(picture, name) for name in canvases}
        # Record every frame count the viewer publishes while the model decodes.
        page.evaluate(
            """() => {
            window.seen = [];
            const node = document.querySelector('[data-signllm-frames]');
            new MutationObserver(() => window.seen.push(
                [Number(node.getAttribute('data-signllm-frames')), node.getAttribute('data-signllm-done')]
            )).observe(node, {attributes: true});
        }"""
        )
        options = (
            page.locator("#signllm-language").inner_text() + page.locator("#signllm-language input").input_value()
        )
        assert "American Sign Language" in options  # names and ISO codes of the model's languages

        page.locator("#signllm-text textarea").fill("hello")
        page.locator("#signllm-sign").click()
        page.wait_for_selector("[data-signllm-done='1']", timeout=20_000)
        assert viewer.get_attribute("data-signllm-frames") == str(FRAMES)
        live = [count for count, done in page.evaluate("window.seen") if done == "0" and 0 < count < FRAMES]
        assert len(set(live)) >= 2, f"frames did not arrive while decoding: {page.evaluate('window.seen')}"
        page.wait_for_timeout(200)  # a few animation frames
        after = {name: page.evaluate(picture, name) for name in canvases}
        assert all(after[name] != before[name] for name in canvases)
        # Drag to turn the signer: the picture changes again.
        page.locator("button.signllm-play").click()  # pause, so that only the turn changes the picture
        page.wait_for_timeout(100)
        paused = page.evaluate(picture, "main")
        box = page.locator("canvas.signllm-main").bounding_box()
        page.mouse.move(box["x"] + 100, box["y"] + 100)
        page.mouse.down()
        page.mouse.move(box["x"] + 250, box["y"] + 120, steps=5)
        page.mouse.up()
        page.wait_for_timeout(100)
        assert page.evaluate(picture, "main") != paused

        links = page.locator("#signllm-files a[download]")
        links.first.wait_for(timeout=10_000)
        downloads = {}
        for index in range(links.count()):
            href = links.nth(index).get_attribute("href")
            name = href.split("?")[0].rsplit("/", 1)[-1]
            downloads[Path(name).suffix] = page.request.get(
                href if "://" in href else served + href.lstrip("/")
            ).body()
        assert outside == []
        browser.close()

    assert sorted(downloads) == sorted([".gif", ".pose"] + ([".mp4"] if mp4_available() else []))
    (tmp_path / "hello.pose").write_bytes(downloads[".pose"])
    clip = read_pose_file(tmp_path / "hello.pose")
    assert clip.pose.shape == (FRAMES, 50, 3) and np.isfinite(clip.pose).all()
    with Image.open(io.BytesIO(downloads[".gif"])) as gif:
        assert gif.n_frames == FRAMES
    if mp4_available():
        assert downloads[".mp4"][4:8] == b"ftyp"


def test_no_model_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no signllm-quickstart/signer here
    with pytest.raises(FileNotFoundError, match="signllm quickstart"):
        default_model()
    assert main(["demo"]) == 2
    assert "signllm quickstart" in capsys.readouterr().err


def test_stream_text_only_grows_even_when_the_clip_ends_earlier():
    # The counter rule may end a clip at an earlier peak, after a few more frames were streamed: the last update
    # still only appends (Gradio then sends just the new lines) and tells the viewer the final length.
    streamed = np.random.default_rng(0).normal(size=(6, 50, 3)).astype(np.float32)
    live = Signing("hi", "ase", 25.0, streamed[:4], run="r1")
    done = Signing("hi", "ase", 25.0, streamed[:3], done=True, run="r1", streamed=streamed)
    first, last = pose_stream_text(live), pose_stream_text(done)
    assert last.startswith(first) and last.endswith("\nE 3\n")
    assert sum(line.startswith("F ") for line in last.splitlines()) == 6
