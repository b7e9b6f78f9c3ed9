"""The ``signllm`` command: one entry point, one subcommand per task.

    signllm corpus fingerspelling OUT_DIR [--lexicon DIR] [--languages ase,gsg]
    signllm corpus synthetic OUT_DIR [--languages ase,gsg] [--vocab-size 30]
    signllm render INPUT --out clip.gif [--index N | --id ID] [--compare OTHER]
    signllm convert openpose INPUT_DIR OUT_DIR [--text clips.tsv] [--language ase] [--split dev]
    signllm convert {extract,lift,export} ...      (one stage at a time)
    signllm generate MODEL_DIR "text" --language ase --out out.pose [--gif out.gif]
    signllm train --config recipes/configs/tiny_cpu.yaml --dataset DATA --output_dir runs/tiny
    signllm train-back-translator DATA OUT_DIR ; signllm evaluate MODEL_DIR DATA --back-translator OUT_DIR
    signllm train-pose-tokenizer OUT_DIR --corpus DATA [--codebook-size 1024] [--letter-reader READER]
    signllm train-pose-lm OUT_DIR --pose-tokenizer VQ --corpus DATA [--lm t5-tiny] [--strategy joint] [--lora-r 8]
    signllm translate MODEL_DIR clip.pose [--language ase] ; signllm translate MODEL_DIR --corpus DATA --limit 20
    signllm quickstart [--word hello]        (corpus, training, GIF and scores in ~10 CPU minutes)
    signllm demo [MODEL_DIR] [--port 7860] [--host 0.0.0.0] [--share]   (a browser app, drawn live; [demo] extra)

Options are written with dashes (``--max-steps``); the underscore spelling (``--max_steps``) is accepted too, by
every command. Progress bars are drawn only on a terminal: not into a log file or a pipe, nor with ``TQDM_DISABLE=1``
(training then logs one line per logging step instead). Torch and transformers are imported once the command line is
parsed, so ``signllm --help`` answers at once.

Errors in the input are reported in one line (exit code 2); ``--traceback`` shows the full trace. ``convert``
exits with 1 when it skipped any clip (the summary says which and why). Ctrl-C prints ``signllm: interrupted`` and
exits with 130; a command run again continues or redoes what was cut short.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path

from . import register

USER_ERRORS = (ValueError, KeyError, IndexError, FileNotFoundError, FileExistsError, ImportError)
DTYPES = ("float32", "float16", "bfloat16")  # --dtype: the weights' precision while generating


def _languages(text: str | None) -> list[str] | None:
    return [code.strip() for code in text.split(",") if code.strip()] if text else None


def _print_corpus_summary(stats: dict, out_dir: str) -> None:
    print(f"\nwrote {out_dir}")
    print(f"{'split':<8}{'clips':>8}{'frames':>10}  languages")
    for split, info in stats["splits"].items():
        languages = info["languages"]
        print(f"{split:<8}{info['clips']:>8}{info['frames']:>10}  {len(languages)}: {' '.join(languages)}")
    skipped = stats.get("skipped_words") or {}
    if skipped:
        print(f"words without a spelling in the lexicon (skipped): {skipped}")
    print(f"built in {stats['total_seconds']:.1f} s")


def run_fingerspelling(args: argparse.Namespace) -> int:
    from .data.corpora.fingerspelling import build_fingerspelling_corpus  # noqa: PLC0415 - imports stay lazy per command

    stats = build_fingerspelling_corpus(
        args.out_dir,
        args.lexicon,
        languages=_languages(args.languages),
        words_per_language=args.words_per_language,
        fps=args.fps,
        transition_frames=args.transition_frames,
        seed=args.seed,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    _print_corpus_summary(stats, args.out_dir)
    return 0


def run_synthetic(args: argparse.Namespace) -> int:
    from .data.corpora.synthetic import SyntheticCorpusConfig, build_synthetic_corpus  # noqa: PLC0415

    config = SyntheticCorpusConfig(
        **({"languages": tuple(_languages(args.languages))} if args.languages else {}),
        vocab_size=args.vocab_size,
        train_sentences=args.train_sentences,
        dev_sentences=args.dev_sentences,
        test_sentences=args.test_sentences,
        fps=args.fps,
        seed=args.seed,
    )
    stats = build_synthetic_corpus(args.out_dir, config, overwrite=args.overwrite, progress=not args.quiet)
    _print_corpus_summary(stats, args.out_dir)
    return 0


def run_render(args: argparse.Namespace) -> int:
    from .data.pose_files import write_pose_file  # noqa: PLC0415
    from .render import load_clip, render_clips  # noqa: PLC0415

    skels = {"variant": args.variant, "scale": args.scale, "fps": args.skels_fps}
    clip, title = load_clip(args.input, index=args.index, clip_id=args.id, split=args.split, **skels)
    out = Path(args.out)
    if out.suffix == ".pose":
        if args.compare:
            raise ValueError("--compare draws two clips side by side; it needs a .gif or .mp4 output, not .pose")
        write_pose_file(out, clip.pose, clip.fps, clip.confidence, layout=args.pose_layout)
        print(f"wrote {out} ({clip.num_frames} frames at {clip.fps:g} fps)")
        return 0
    clips, titles = [clip], [title]
    if args.compare:
        other, other_title = load_clip(
            args.compare, index=args.compare_index, clip_id=args.compare_id, split=args.split, **skels
        )
        clips.append(other)
        titles.append(other_title)
    render_clips(clips, out, titles=titles, size=args.size, fps=args.fps, y_up=args.y_up)
    print(f"wrote {out} ({max(c.num_frames for c in clips)} frames)")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    import torch  # noqa: PLC0415

    from .pipeline_signllm import load_text_to_pose  # noqa: PLC0415 - importing signllm_hf registers the task

    # A faulty model folder (malformed JSON, truncated weights, a language without weights): one line naming the file
    signer = load_text_to_pose(args.model_dir, device=args.device, dtype=getattr(torch, args.dtype))
    options = {"language": args.language, "pose_path": args.out, "gif_path": args.gif, "max_frames": args.max_frames}
    result = signer(args.text, **{k: v for k, v in options.items() if v is not None})
    frames = len(result["pose"])
    if "langgloss" in result:  # a Prompt2LangGloss model: what its prompt stage wrote
        print(f"LangGloss: {result['langgloss']}")
    print(f"{result['language']}: {frames} frames ({frames / result['fps']:.2f} s at {result['fps']:g} fps)")
    for key in ("pose_path", "gif_path"):
        if key in result:
            print(f"wrote {result[key]}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate_model, format_table  # noqa: PLC0415

    result = evaluate_model(
        args.model_dir,
        args.dataset,
        split=args.split,
        back_translator=args.back_translator,
        skels_language=args.skels_language,
        max_clips=args.max_clips,
        batch_size=args.batch_size,
        max_frames=args.max_frames,
        output=args.out,
        prompts=args.prompts,
        dtype=args.dtype,
        letter_reader=args.letter_reader,
        random_strings=args.random_strings,
    )
    print(format_table(result))
    if args.out:
        print(f"wrote {args.out}")
    return 0


def _say(*parts) -> None:
    """``print`` in the main process only: under ``accelerate launch`` (or torchrun) every process runs the command,
    and the run's report should appear once (the launchers set ``RANK``)."""
    if os.environ.get("RANK", "0") == "0":
        print(*parts)


def run_train_letter_reader(args: argparse.Namespace) -> int:
    from .evaluation.letter_margins import FAIR_MARGIN  # noqa: PLC0415
    from .training.letter_reader import train_letter_reader  # noqa: PLC0415

    metrics = train_letter_reader(
        args.output_dir,
        lexicon=args.lexicon,
        languages=_languages(args.languages),
        corpus=args.corpus,
        max_steps=args.max_steps,
        seconds=args.seconds,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        d_model=args.d_model,
        seed=args.seed,
        progress=not args.quiet,
    )
    _say(f"wrote {args.output_dir} ({metrics['steps']} steps)")
    if "calibration" in metrics:
        calibration = metrics["calibration"]
        _say(
            f"calibration on {args.corpus} (dev, CER): references {calibration['references']:.3f} (goal <= 0.05), "
            f"still pose {calibration['still_pose']:.3f} and another word's clip {calibration['another_word']:.3f} "
            "(goal >= 0.9)"
        )
    near = metrics["near_letters"]
    _say(
        f"near letters: each read up to {near['smallest']:.1f} of the way to its nearest neighbour, at least (goal >= "
        f"{FAIR_MARGIN}; lowest: {near['lowest']}; benchmarks/letter_margins.py prints them all)"
    )
    return 0


def run_train_pose_tokenizer(args: argparse.Namespace) -> int:
    from .evaluation.pose_tokenizer import format_pose_tokenizer_report  # noqa: PLC0415
    from .training.pose_tokenizer import train_pose_tokenizer  # noqa: PLC0415

    metrics = train_pose_tokenizer(
        args.output_dir,
        args.corpus,
        languages=_languages(args.languages),
        letter_reader=args.letter_reader,
        max_steps=args.max_steps,
        seconds=args.seconds,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        window=args.window,
        max_eval_clips=args.eval_clips,
        seed=args.seed,
        progress=not args.quiet,
        hidden_size=args.d_model,
        codebook_size=args.codebook_size,
        downsample=args.downsample,
        quantizer=args.quantizer,
        codebooks=args.codebooks,
    )
    _say(f"wrote {args.output_dir} ({metrics['steps']} steps)")
    if "dev" in metrics:
        _say(f"reconstruction of {args.corpus} (dev):\n{format_pose_tokenizer_report(metrics['dev'])}")
    return 0


def run_train_pose_lm(args: argparse.Namespace) -> int:
    from .evaluation.pose_lm import format_pose_lm_report  # noqa: PLC0415
    from .training.pose_lm import train_pose_lm  # noqa: PLC0415

    metrics = train_pose_lm(
        args.output_dir,
        pose_tokenizer=args.pose_tokenizer,
        corpus=args.corpus,
        lm=args.lm,
        strategy=args.strategy,
        tasks=args.tasks,
        pose_input=args.pose_input,
        lora_r=args.lora_r,
        languages=_languages(args.languages),
        max_steps=args.max_steps,
        seconds=args.seconds,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        d_model=args.d_model,
        layers=args.layers,
        heads=args.heads,
        vocab_size=args.vocab_size,
        max_pose_tokens=args.max_pose_tokens,
        eval_split=args.eval_split,
        max_eval_clips=args.eval_clips,
        letter_reader=args.letter_reader,
        seed=args.seed,
        progress=not args.quiet,
    )
    trained = f"{metrics['trainable_parameters']:,} of {metrics['parameters']:,} parameters trained"
    _say(f"wrote {args.output_dir} ({metrics['steps']} steps, {trained})")
    if args.eval_split in metrics:
        _say(f"scores on {args.corpus} ({args.eval_split}):\n{format_pose_lm_report(metrics[args.eval_split])}")
    return 0


def run_translate(args: argparse.Namespace) -> int:
    from .evaluation.pose_lm import format_pose_lm_report, translate_corpus  # noqa: PLC0415

    if not args.files and not args.corpus:
        raise ValueError("pass .pose files to translate, or --corpus DIR (with --split and --limit)")
    features = True if args.features else None
    if args.files:
        from transformers import pipeline  # noqa: PLC0415

        reader = pipeline("pose-to-text", model=args.model_dir, **({"features": True} if features else {}))
        for path in args.files:
            print(f"{path}\t{reader(path, language=args.language)['text']}")
    if args.corpus:
        result = translate_corpus(args.model_dir, args.corpus, args.split, args.limit, features)
        for clip in result["clips"]:
            print(f"{clip['id']}\t{clip['language']}\t{clip['text']}\t{clip['translation']}")
        print(f"scores on {args.corpus} ({args.split}):")
        print(format_pose_lm_report({"pose_to_text": result["scores"]}))
    return 0


def run_train_back_translator(args: argparse.Namespace) -> int:
    from .training.back_translator import train_back_translator  # noqa: PLC0415

    metrics = train_back_translator(
        args.dataset,
        args.output_dir,
        languages=_languages(args.languages),
        max_steps=args.max_steps,
        seconds=args.seconds,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        d_model=args.d_model,
        layers=args.layers,
        vocab_size=args.vocab_size,
        progress=not args.quiet,
    )
    scores = ", ".join(
        f"{k} {100 * v if k.endswith('wer') else v:.2f}"
        for k, v in metrics.items()
        if k not in ("steps", "train_runtime")
    )  # BLEU, ROUGE-L, chrF are percentages: WER (a rate) is printed as one too
    _say(f"wrote {args.output_dir}: {scores} (scores in %)")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    import torch  # noqa: PLC0415

    from .demo import default_model, launch_demo  # noqa: PLC0415 - Gradio: only for this command

    model = args.model_dir or default_model()  # without a model and a quickstart signer: how to get one (exit 2)
    print(f"signllm demo: {model} (Ctrl-C stops it)")
    dtype = getattr(torch, args.dtype)
    launch_demo(model, host=args.host, port=args.port, share=args.share, device=args.device, dtype=dtype)
    return 0


def run_quickstart(args: argparse.Namespace) -> int:
    from .quickstart import run_quickstart as quickstart  # noqa: PLC0415

    quickstart(
        args.workdir,
        word=args.word,
        language=args.language,
        languages=tuple(_languages(args.languages)),
        minutes=args.minutes,
        eval_clips=args.eval_clips,
        random_strings=args.random_strings,
        progress=not args.quiet,
    )
    return 0


def _conversion_options(args: argparse.Namespace):
    from .conversion.pipeline import ConversionOptions  # noqa: PLC0415

    names = (
        "language",
        "split",
        "fps",
        "text_path",
        "gloss_path",
        "max_missing_fraction",
        "solver",
        "skels_variant",
        "tolerance",
    )
    given = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    return ConversionOptions(**given, progress=not args.quiet)


def _print_reports(reports, out_dir: str) -> int:
    from .conversion.pipeline import write_summary  # noqa: PLC0415

    write_summary(Path(out_dir), reports)
    print(f"\n{'stage':<9}{'converted':>10}{'done before':>12}{'skipped':>9}{'seconds':>9}{'clips/s':>9}")
    for report in reports:
        print(
            f"{report.stage:<9}{report.converted:>10}{report.already_done:>12}{len(report.skipped):>9}"
            f"{report.seconds:>9.1f}{report.clips_per_second:>9.1f}"
        )
    skipped = {clip: reason for report in reports for clip, reason in report.skipped.items()}
    for clip, reason in skipped.items():
        print(f"skipped {clip}: {reason}")
    for report in reports:
        for warning in report.warnings[:10]:
            print(f"warning ({report.stage}): {warning}")
    print(f"summary: {Path(out_dir) / 'summary.json'}")
    return 1 if skipped else 0


def run_convert(args: argparse.Namespace) -> int:
    from .conversion import pipeline  # noqa: PLC0415

    options = _conversion_options(args)
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    if args.stage == "openpose":
        reports = pipeline.convert_openpose(args.input_dir, args.out_dir, options)
    elif args.stage == "extract":
        reports = [pipeline.extract_keypoints(args.input_dir, args.out_dir, options)]
    elif args.stage == "lift":
        reports = [pipeline.lift_keypoints(args.out_dir, options)]
    else:
        reports = [pipeline.export_dataset(args.out_dir, options)]
    return _print_reports(reports, args.out_dir)


def _add_convert_parsers(commands) -> None:
    convert = commands.add_parser(
        "convert", help="the Prompt2Sign tool: OpenPose JSON -> HDF5 -> 3D -> .skels / parquet"
    ).add_subparsers(dest="stage", required=True)
    descriptions = {
        "openpose": "all stages: a folder of clip folders of OpenPose JSON (or .pose files) to a 3D dataset",
        "extract": "stage 1: keypoints -> OUT_DIR/keypoints2d.h5",
        "lift": "stage 2: OUT_DIR/keypoints2d.h5 -> OUT_DIR/poses3d.h5",
        "export": "stage 3: OUT_DIR/poses3d.h5 -> OUT_DIR/{split}.skels/.text/.gloss/.files and OUT_DIR/dataset",
    }
    for stage, description in descriptions.items():
        parser = convert.add_parser(stage, help=description, description=description)
        if stage in ("openpose", "extract"):
            parser.add_argument("input_dir", help="folder of clip folders (<clip>_<frame>_keypoints.json) / .pose")
        parser.add_argument("out_dir")
        if stage in ("openpose", "extract", "export"):
            parser.add_argument("--text", dest="text_path", help="table of clip id and sentence (.tsv or .csv)")
            parser.add_argument("--gloss", dest="gloss_path", help="table of clip id and gloss sequence")
        if stage in ("openpose", "extract"):
            parser.add_argument("--language", default="ase", help="sign language of the clips (default ase)")
            parser.add_argument("--split", default="train", help="split of the clips (default train)")
            parser.add_argument("--fps", type=float, default=25.0, help="frame rate of the videos (default 25)")
            parser.add_argument(
                "--max-missing-fraction",
                type=float,
                help="skip clips with more frames without a person than this (default 0.5)",
            )
        if stage in ("openpose", "lift"):
            parser.add_argument("--solver", choices=["adam", "reference"], help="adam (default) or reference")
            parser.add_argument(
                "--tolerance",
                type=float,
                help="adam: stop below this relative improvement per 10 steps (default 0.01)",
            )
        if stage in ("openpose", "export"):
            parser.add_argument(
                "--skels-variant",
                choices=["progressive_transformers", "prompt2sign"],
                help=".skels variant to write (default progressive_transformers)",
            )
        parser.add_argument("--quiet", action="store_true", help="no progress bars")
        parser.set_defaults(func=run_convert)


def _add_judge_training_options(parser, max_steps: int, batch_size: int, learning_rate: float, d_model: int) -> None:
    """The options every judge's training shares (each judge has its own defaults)."""
    parser.add_argument("--max-steps", type=int, default=max_steps)
    parser.add_argument("--seconds", type=float, help="stop after this much training time")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--learning-rate", type=float, default=learning_rate)
    parser.add_argument("--d-model", type=int, default=d_model)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signllm", description="SignLLM for Hugging Face: data, models, tools.")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    corpus = commands.add_parser("corpus", help="build a training corpus").add_subparsers(
        dest="builder", required=True
    )
    spell = corpus.add_parser("fingerspelling", help="words spelled with a real fingerspelling lexicon (20 languages)")
    spell.add_argument("out_dir")
    spell.add_argument("--lexicon", help="lexicon folder with index.csv (default: the spoken-to-signed lexicon)")
    spell.add_argument("--languages", help="comma-separated sign languages (default: all of the lexicon)")
    spell.add_argument("--words-per-language", type=int, help="seeded sample of each word list")
    spell.add_argument("--fps", type=float, default=25.0)
    spell.add_argument("--transition-frames", type=int, default=4, help="frames between two letters")
    spell.add_argument("--seed", type=int, default=0)
    spell.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it exists")
    spell.add_argument("--quiet", action="store_true", help="no progress bar")
    spell.set_defaults(func=run_fingerspelling)

    synth = corpus.add_parser("synthetic", help="seeded compositional corpus with held-out gloss orders")
    synth.add_argument("out_dir")
    synth.add_argument("--languages", help="comma-separated sign languages (default: the paper's eight)")
    synth.add_argument("--vocab-size", type=int, default=30)
    synth.add_argument("--train-sentences", type=int, default=400, help="per language")
    synth.add_argument("--dev-sentences", type=int, default=50, help="per language")
    synth.add_argument("--test-sentences", type=int, default=50, help="per language")
    synth.add_argument("--fps", type=float, default=25.0)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--overwrite", action="store_true")
    synth.add_argument("--quiet", action="store_true")
    synth.set_defaults(func=run_synthetic)

    _add_convert_parsers(commands)

    commands.add_parser(
        "train", add_help=False, help="train a SignLLM model (signllm train --help for every option)"
    )  # parsed by signllm_hf.training.run, see main()

    back = commands.add_parser("train-back-translator", help="train the pose -> text judge of back-translation")
    back.add_argument("dataset", help="corpus folder (signllm corpus / convert output)")
    back.add_argument("output_dir")
    back.add_argument("--languages", help="comma-separated languages (default: all)")
    _add_judge_training_options(back, max_steps=3000, batch_size=16, learning_rate=5e-4, d_model=256)
    back.add_argument("--layers", type=int, default=3)
    back.add_argument("--vocab-size", type=int, default=4000, help="its text tokenizer's (260: letters only)")
    back.set_defaults(func=run_train_back_translator)

    reader = commands.add_parser(
        "train-letter-reader", help="train the fingerspelling judge (poses -> letters) on random letter strings"
    )
    reader.add_argument("output_dir")
    reader.add_argument("--languages", help="comma-separated sign languages (default: all of the lexicon)")
    reader.add_argument("--lexicon", help="lexicon folder with index.csv (default: the spoken-to-signed lexicon)")
    reader.add_argument("--corpus", help="a fingerspelling corpus to calibrate the reader on (its dev split)")
    _add_judge_training_options(reader, max_steps=4000, batch_size=32, learning_rate=2e-3, d_model=192)
    reader.add_argument("--seed", type=int, default=0)
    reader.set_defaults(func=run_train_letter_reader)

    tokens = commands.add_parser(
        "train-pose-tokenizer", help="train the pose tokenizer (a VQ-VAE: poses <-> ids for language models)"
    )
    tokens.add_argument("output_dir")
    tokens.add_argument("--corpus", required=True, help="corpus folder (signllm corpus / convert output)")
    tokens.add_argument("--languages", help="comma-separated sign languages (default: all of the corpus)")
    tokens.add_argument("--letter-reader", help="a letter reader folder: CER of reconstructed dev clips")
    _add_judge_training_options(tokens, max_steps=20000, batch_size=32, learning_rate=1e-3, d_model=256)
    tokens.add_argument("--codebook-size", type=int, default=1024, help="codes per codebook (default 1024)")
    tokens.add_argument("--downsample", type=int, default=4, help="frames per token, a power of two (default 4)")
    tokens.add_argument("--quantizer", default="vq", choices=["vq", "fsq"], help="VQ with EMA (default) or FSQ")
    tokens.add_argument(
        "--codebooks", default="joint", choices=["joint", "parts"], help="one codebook, or body + each hand"
    )
    tokens.add_argument("--window", type=int, default=64, help="frames of each training window (default 64)")
    tokens.add_argument("--eval-clips", type=int, help="score a seeded sample of this many dev clips")
    tokens.add_argument("--seed", type=int, default=0)
    tokens.set_defaults(func=run_train_pose_tokenizer)

    posel = commands.add_parser(
        "train-pose-lm", help="teach a language model pose tokens: text -> pose and pose -> text (LoRA or full)"
    )
    posel.add_argument("output_dir")
    posel.add_argument("--pose-tokenizer", required=True, help="pose tokenizer folder (signllm train-pose-tokenizer)")
    posel.add_argument("--corpus", required=True, help="corpus folder (signllm corpus / convert output)")
    posel.add_argument("--lm", default="t5-tiny", help="t5-tiny, bart-tiny, qwen2-tiny, llama-tiny, Hub id or folder")
    posel.add_argument("--strategy", default="direct", choices=["direct", "joint", "staged"])
    posel.add_argument("--tasks", help="direct: text_to_pose,pose_to_text (default both) and/or completion")
    posel.add_argument("--pose-input", default="codes", choices=["codes", "features"], help="features: a projector")
    posel.add_argument("--lora-r", type=int, default=0, help="LoRA rank (0: full fine-tuning)")
    posel.add_argument("--languages", help="comma-separated sign languages (default: all of the corpus)")
    posel.add_argument("--letter-reader", help="a letter reader folder: CER of the signed dev clips")
    _add_judge_training_options(posel, max_steps=2000, batch_size=16, learning_rate=1e-3, d_model=128)
    posel.add_argument("--layers", type=int, default=2, help="layers of a tiny LM (encoder and decoder each)")
    posel.add_argument("--heads", type=int, default=4, help="attention heads of a tiny LM")
    posel.add_argument("--vocab-size", type=int, default=1000, help="a tiny LM's BPE tokenizer (260: letters only)")
    posel.add_argument("--max-pose-tokens", type=int, default=250, help="pose tokens kept per clip (default 250)")
    posel.add_argument("--eval-split", default="dev", help="the split scored after training (default dev)")
    posel.add_argument("--eval-clips", type=int, default=64, help="score a seeded sample of this many clips")
    posel.add_argument("--seed", type=int, default=0)
    posel.set_defaults(func=run_train_pose_lm)

    translate = commands.add_parser("translate", help="pose -> text with a pose LM (signllm train-pose-lm)")
    translate.add_argument("model_dir")
    translate.add_argument("files", nargs="*", help=".pose files to translate")
    translate.add_argument("--language", help="the files' sign language (optional when the model has one)")
    translate.add_argument("--corpus", help="translate a corpus split's clips instead and print the scores")
    translate.add_argument("--split", default="test")
    translate.add_argument("--limit", type=int, help="a seeded sample of this many clips")
    translate.add_argument("--features", action="store_true", help="read continuous features (a projector)")
    translate.set_defaults(func=run_translate)

    evaluate = commands.add_parser(
        "evaluate", help="DTW, back-translation and legibility scores of a model on a corpus split"
    )
    evaluate.add_argument("model_dir")
    evaluate.add_argument("dataset", help="corpus folder (ours, or Prompt2Sign .skels files with --skels-language)")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--back-translator", help="a back-translator folder (signllm train-back-translator)")
    evaluate.add_argument("--skels-language", help="the sign language of a Prompt2Sign (.skels) folder's clips")
    evaluate.add_argument("--max-clips", type=int, help="score a seeded random sample of this many clips")
    evaluate.add_argument("--batch-size", type=int, default=16)
    evaluate.add_argument("--max-frames", type=int, help="generation cap (default: the model's)")
    evaluate.add_argument("--out", help="write the scores here as JSON")
    evaluate.add_argument(
        "--prompts", action="store_true", help="Prompt2LangGloss: sign each text wrapped in a held-out prompt template"
    )
    evaluate.add_argument(
        "--dtype", default="float32", choices=DTYPES, help="the pose model's precision (default float32)"
    )
    evaluate.add_argument(
        "--letter-reader", help="a letter reader folder: letter error rates (signllm train-letter-reader)"
    )
    evaluate.add_argument(
        "--random-strings",
        type=int,
        default=0,
        help="with --letter-reader: also sign and read N random strings a language",
    )
    evaluate.set_defaults(func=run_evaluate)

    quick = commands.add_parser("quickstart", help="corpus -> trained signer -> GIF -> scores, in ~10 CPU minutes")
    quick.add_argument("--workdir", default="signllm-quickstart")
    quick.add_argument("--word", default="hello", help="the word to sign at the end")
    quick.add_argument("--language", default="ase", help="its sign language")
    quick.add_argument("--languages", default="ase,gsg,tsm", help="languages to train (fingerspelling lexicon)")
    quick.add_argument("--minutes", type=float, default=10.0, help="time budget of the run (80%% of it trains)")
    quick.add_argument("--eval-clips", type=int, default=60, help="test-split words to evaluate on")
    quick.add_argument("--random-strings", type=int, default=20, help="random letter strings a language to evaluate")
    quick.add_argument("--quiet", action="store_true")
    quick.set_defaults(func=run_quickstart)

    demo = commands.add_parser("demo", help="a browser app: type, pick a language, watch it signed live (Gradio)")
    demo.add_argument("model_dir", nargs="?", help="a saved model folder (default: signllm-quickstart/signer)")
    demo.add_argument("--host", default="127.0.0.1", help="address to serve on (0.0.0.0: reachable from others)")
    demo.add_argument("--port", type=int, help="port (default: 7860, or the next free one)")
    demo.add_argument("--share", action="store_true", help="also ask Gradio for a public link")
    demo.add_argument("--device", default="cpu", help="torch device (default cpu)")
    demo.add_argument("--dtype", default="float32", choices=DTYPES, help="weights' precision (default float32)")
    demo.set_defaults(func=run_demo)

    generate = commands.add_parser("generate", help="text -> pose with a trained model (.pose and/or GIF/MP4)")
    generate.add_argument("model_dir", help="a saved SignLLM model folder (config.json, weights, tokenizer)")
    generate.add_argument("text", help="the text to sign (or, for a Prompt2LangGloss model, a prompt)")
    generate.add_argument("--language", help="sign language (optional when the model has one or the prompt names it)")
    generate.add_argument("--out", help="write the pose here (.pose)")
    generate.add_argument("--gif", help="write an animation here (.gif or .mp4)")
    generate.add_argument("--max-frames", type=int, help="cap on generated frames (default: the model's)")
    generate.add_argument("--device", default="cpu", help="torch device (default cpu)")
    generate.add_argument(
        "--dtype",
        default="float32",
        choices=DTYPES,
        help="weights' precision; float16 generates about twice as fast on a CPU (default float32)",
    )
    generate.set_defaults(func=run_generate)

    render = commands.add_parser("render", help="draw a clip as GIF/MP4 (or export it as .pose)")
    render.add_argument("input", help="a dataset folder, .parquet shard, Prompt2Sign folder, .skels or .pose file")
    render.add_argument("--out", required=True, help="output .gif, .mp4 or .pose")
    render.add_argument("--index", type=int, help="row / line number, from 0 (default 0)")
    render.add_argument("--id", help="clip id instead of --index")
    render.add_argument("--split", help="split of a dataset or Prompt2Sign folder (default: the first)")
    render.add_argument("--compare", help="a second input drawn side by side, in the same view")
    render.add_argument("--compare-index", type=int)
    render.add_argument("--compare-id")
    render.add_argument("--size", type=int, default=320, help="panel size in pixels")
    render.add_argument("--fps", type=float, help="playback frame rate (default: the clip's)")
    render.add_argument("--y-up", action="store_true", help="the data's y axis points up (default: down, as images)")
    render.add_argument(
        "--variant",
        default="auto",
        choices=["auto", "progressive_transformers", "prompt2sign"],
        help=".skels inputs: the file variant (default: told from the counter)",
    )
    render.add_argument("--scale", type=float, help=".skels inputs: override the variant's coordinate scale")
    render.add_argument("--skels-fps", type=float, default=25.0, help=".skels inputs: their frame rate (default 25)")
    render.add_argument(
        "--pose-layout",
        default="holistic",
        choices=["holistic", "signllm"],
        help=".pose output: MediaPipe Holistic components, as sign.mt and pose-format read them (default), or "
        "our compact SIGNLLM_50 component",
    )
    render.set_defaults(func=run_render)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except KeyboardInterrupt:  # Ctrl-C is a request, not a crash: files are written atomically, reruns resume
        if "--traceback" in argv:
            raise
        print("signllm: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, what shells report for a command stopped by Ctrl-C


def as_options(message: str) -> str:
    """A library error's hint in the command's terms: ``language=`` / `` `max_frames` `` become ``--language`` /
    ``--max-frames`` (and the training option ``prompt_stage_steps`` ``--prompt-stage-steps``).

    >>> as_options("found nothing to sign: pass the plain sentence with language=")
    'found nothing to sign: pass the plain sentence with --language'
    """
    return re.sub(
        r"`?\b(language|max_frames|prompt_stage_steps)\b(=|`)(?!\w)`?",
        lambda m: "--" + m.group(1).replace("_", "-"),
        message,
    )


def progress_bars_wanted() -> bool:
    """Progress bars are for a person at a terminal: none into a log file or a pipe (stderr is not a terminal),
    none with ``TQDM_DISABLE=1``."""
    disabled = os.environ.get("TQDM_DISABLE", "").strip().lower() in {"1", "true", "yes", "on"}
    return not disabled and sys.stderr.isatty()


def _no_progress_bars() -> None:
    """Turn every library's bars off: tqdm's own default, and huggingface_hub's, transformers' and datasets'
    switches (read from the environment when they are first imported, and set again here in case they were)."""
    os.environ["TQDM_DISABLE"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    for module, switch in (
        ("huggingface_hub.utils", "disable_progress_bars"),
        ("transformers.utils.logging", "disable_progress_bar"),
        ("datasets", "disable_progress_bars"),
    ):
        if module in sys.modules:
            getattr(sys.modules[module], switch)()


def _accept_underscores(parser: argparse.ArgumentParser) -> None:
    """Let every ``--dashed-option`` of ``parser`` and its subcommands also be spelled ``--dashed_option`` (the
    ``train`` command's HfArgumentParser accepts both spellings too). Help shows the dashed one."""
    for action in parser._actions:  # noqa: SLF001 - argparse has no public alias API
        for option in list(action.option_strings):
            alias = "--" + option[2:].replace("-", "_")
            if option.startswith("--") and alias != option:
                parser._option_string_actions.setdefault(alias, action)  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for subparser in set(action.choices.values()):
                _accept_underscores(subparser)


def _dispatch(argv: list[str]) -> int:
    bars = progress_bars_wanted()
    if not bars:
        _no_progress_bars()
    if argv[:1] == ["train"]:  # the training entry point has its own (HfArgumentParser) options
        if "-h" not in argv and "--help" not in argv:
            register()
        from .training.run import main as train_main  # noqa: PLC0415

        traceback = "--traceback" in argv
        if not bars and not any(re.match(r"--disable[-_]tqdm\b", argument) for argument in argv):
            argv = [*argv, "--disable_tqdm", "true"]
        try:
            train_main([argument for argument in argv[1:] if argument != "--traceback"])
        except (ValueError, FileNotFoundError, FileExistsError, ImportError) as error:  # not a KeyError from inside
            if traceback:
                raise
            print(f"signllm: error: {error} (--traceback shows where)", file=sys.stderr)
            return 2
        return 0
    parser = make_parser()
    _accept_underscores(parser)
    args = parser.parse_args(argv)
    if not bars and hasattr(args, "quiet"):
        args.quiet = True
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("signllm_hf.training.progress").setLevel(logging.INFO)  # the lines that stand in for bars
    register()  # torch and transformers: only now, so that --help and option errors answer at once
    try:
        return args.func(args)
    except USER_ERRORS as error:
        if args.traceback:
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"signllm: error: {as_options(str(message))}", file=sys.stderr)  # hints in the command's options
        return 2


if __name__ == "__main__":
    sys.exit(main())
