"""Scores of the Prompt2LangGloss prompt stage: the paper's Table 8 (LangGloss from prompts vs from plain text).

Example:
    >>> from signllm_hf.evaluation.langgloss import langgloss_evaluation
    >>> stage = lambda prompts, languages: ["<ASL_the> <ASL_sky>"] * len(prompts)  # always the same LangGloss
    >>> rows = [{"id": "a", "language": "ase", "text": "the sky", "gloss": ""}]
    >>> scores = langgloss_evaluation(stage, rows)["overall"]
    >>> scores["exact_text"], scores["exact_prompt"]
    (100.0, 100.0)
"""

from __future__ import annotations

from ..data.langgloss import row_langgloss
from ..data.prompts import make_prompt
from ..metrics.text_scores import text_scores


def langgloss_evaluation(stage, rows, template_split: str = "heldout", seed: int = 1) -> dict:
    """The paper's Table 8 for stage 1 on held-out clips: LangGloss written from prompts (in templates not seen in
    training) against the LangGloss written from the plain text (how much a prompt loses), and both against the
    corpus's own LangGloss. Per language and overall: exact-match rates (%), BLEU-4 and ROUGE-L; ``all`` holds every
    clip's prompt and outputs, ``examples`` the first eight."""
    rows = [row for row in rows if (row.get("text") or "").strip()]  # a prompt needs a sentence to wrap
    if not any(row_langgloss(row) for row in rows):
        raise ValueError("no clip with a LangGloss (text or gloss) to evaluate the prompt stage on")
    languages = [row["language"] for row in rows]
    gold = [row_langgloss(row) for row in rows]
    prompts = [
        make_prompt(row["text"], row["language"], seed=seed, key=row["id"], split=template_split) for row in rows
    ]
    from_text = stage([row["text"] for row in rows], languages)
    from_prompt = stage(prompts, languages)

    def scores(chosen: list[int]) -> dict:
        pick = lambda values: [values[i] for i in chosen]  # noqa: E731
        exact = lambda a, b: 100 * sum(x == y for x, y in zip(pick(a), pick(b))) / len(chosen)  # noqa: E731
        prompt_vs_text = text_scores(pick(from_prompt), pick(from_text), tokenize="none")
        text_vs_gold = text_scores(pick(from_text), pick(gold), tokenize="none")
        prompt_vs_gold = text_scores(pick(from_prompt), pick(gold), tokenize="none")
        return {
            "clips": len(chosen),
            "exact_text": exact(from_text, gold),
            "exact_prompt": exact(from_prompt, gold),
            "bleu4_text": text_vs_gold["bleu4"],
            "bleu4_prompt": prompt_vs_gold["bleu4"],
            "rouge_l_text": text_vs_gold["rouge_l"],
            "rouge_l_prompt": prompt_vs_gold["rouge_l"],
            "bleu4_prompt_vs_text": prompt_vs_text["bleu4"],
            "rouge_l_prompt_vs_text": prompt_vs_text["rouge_l"],
        }

    result = {"overall": scores(list(range(len(rows)))), "per_language": {}}
    for code in sorted(set(languages)):
        result["per_language"][code] = scores([i for i, language in enumerate(languages) if language == code])
    result["all"] = [
        {"prompt": p, "from_prompt": a, "from_text": b, "reference": g}
        for p, a, b, g in zip(prompts, from_prompt, from_text, gold)
    ]
    result["examples"] = [
        {"prompt": p, "from_prompt": a, "from_text": b, "reference": g}
        for p, a, b, g in list(zip(prompts, from_prompt, from_text, gold))[:8]
    ]
    return result
