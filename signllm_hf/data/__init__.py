"""The pose data layer: skeleton, languages, file formats, datasets, corpora, collator.

Example:
    >>> from signllm_hf.data import canonical_language, NUM_JOINTS
    >>> canonical_language("DGS"), NUM_JOINTS
    ('gsg', 50)
"""

from .collator import SignLLMDataCollator
from .dataset import (
    POSE_FEATURES,
    check_pose_columns,
    compute_pose_stats,
    load_pose_dataset,
    pose_dataset_from_rows,
    read_stats,
    save_pose_dataset,
)
from .languages import (
    PAPER_LANGUAGES,
    SignLanguage,
    UnknownLanguageError,
    canonical_language,
    get_language,
    list_languages,
    register_language,
)
from .pose_files import read_pose_file, write_pose_file
from .prompt2sign import read_prompt2sign, write_prompt2sign
from .prompts import make_prompt, prompt_templates
from .skeleton import BONES, FRAME_SIZE, JOINT_NAMES, NUM_JOINTS, PoseClip

__all__ = [
    "BONES",
    "FRAME_SIZE",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "PAPER_LANGUAGES",
    "POSE_FEATURES",
    "PoseClip",
    "SignLLMDataCollator",
    "SignLanguage",
    "UnknownLanguageError",
    "canonical_language",
    "check_pose_columns",
    "compute_pose_stats",
    "get_language",
    "list_languages",
    "load_pose_dataset",
    "make_prompt",
    "pose_dataset_from_rows",
    "prompt_templates",
    "read_pose_file",
    "read_prompt2sign",
    "read_stats",
    "register_language",
    "save_pose_dataset",
    "write_pose_file",
    "write_prompt2sign",
]
