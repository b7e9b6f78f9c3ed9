"""The tables of an evaluation's result (``signllm evaluate``, the model card): Markdown, one row per score.

Example:
    >>> from signllm_hf.evaluation.tables import format_table
    >>> print(format_table({"clips": 2, "dtw": 1.5, "dtw_mje": 0.2, "length_error": 0.1, "per_language": {}}))
    | metric | generated |
    |---|---|
    | clips | 2 |
    | dtw | 1.5000 |
    | dtw_mje | 0.2000 |
    | length_error | 0.1000 |
"""

from __future__ import annotations


def format_table(result: dict) -> str:
    """The scores as a Markdown table (generated poses, and the references' back-translation when present).
    Back-translation scores are percentages, WER included (``result`` holds it as a rate, as jiwer gives it)."""
    with_references = "back_translation_of_references" in result
    header = "| metric | generated |" + (" references |" if with_references else "")
    lines = [header, "|---|---|" + ("---|" if with_references else "")]
    for name in ("clips", "dtw", "dtw_mje", "length_error"):
        value = result[name]
        lines.append(
            f"| {name} | {value if isinstance(value, int) else f'{value:.4f}'} |" + (" |" if with_references else "")
        )
    for name in ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "chrf", "wer"):
        if "back_translation" in result:
            scale = 100 if name == "wer" else 1  # a rate, shown as a percentage like the others
            scores = [result["back_translation"]] + (
                [result["back_translation_of_references"]] if with_references else []
            )
            lines.append(f"| {name} | " + " | ".join(f"{scale * s[name]:.2f}" for s in scores) + " |")
    if "langgloss" in result:  # a Prompt2LangGloss model's prompt stage (the paper's Table 8)
        overall = result["langgloss"]["overall"]
        for name in (
            "exact_text",
            "exact_prompt",
            "bleu4_text",
            "bleu4_prompt",
            "bleu4_prompt_vs_text",
            "rouge_l_prompt_vs_text",
        ):
            lines.append(f"| langgloss {name} | {overall[name]:.2f} |" + (" |" if with_references else ""))
    for code, scores in result.get("per_language", {}).items():
        lines.append(
            f"| dtw ({code}, {scores['clips']} clips) | {scores['dtw']:.4f} |" + (" |" if with_references else "")
        )
    if "legibility" in result:
        lines += ["", format_legibility(result)]
    return "\n".join(lines)


def format_legibility(result: dict) -> str:
    """The letter reader's table: CER and WER per language (of the split's words, and of random strings when
    scored), the reader's calibration, and the motion ratios."""
    words, strings = result["legibility"], result.get("random_strings")
    header = "| language | words: CER | words: WER |" + (
        " random strings: CER | random strings: WER |" if strings else ""
    )
    lines = [header, "|---|---|---|" + ("---|---|" if strings else "")]
    for code in [*words["per_language"], "all"]:
        scores = [words if code == "all" else words["per_language"][code]]
        if strings:
            scores.append(
                strings
                if code == "all"
                else strings["per_language"].get(code, {"cer": float("nan"), "wer": float("nan")})
            )
        lines.append(f"| {code} | " + " | ".join(f"{s['cer']:.3f} | {s['wer']:.3f}" for s in scores) + " |")
    calibration = words["calibration"]
    lines.append(
        f"\nreader calibration (CER): references {calibration['references']:.3f} (goal <= 0.05), still pose "
        f"{calibration['still_pose']:.3f} and another word's clip {calibration['another_word']:.3f} (goal >= 0.9)"
    )
    lines.append(
        f"motion, generated / reference: hand speed {words['speed_ratio']:.2f}, hand-shape variance "
        f"{words['hand_shape_variance_ratio']:.2f} (1.0 is right; well below 1 is averaged motion)"
    )
    return "\n".join(lines)
