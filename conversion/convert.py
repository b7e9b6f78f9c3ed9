"""The Prompt2Sign tool from a checkout: OpenPose JSON -> HDF5 -> 3D lifting -> `.skels` text and a parquet dataset.

The same as `signllm convert ...` (the code is `signllm_hf.conversion`, so it also works from an installed wheel):

    python conversion/convert.py openpose INPUT_DIR OUT_DIR --text clips.tsv --language ase --split dev
    python conversion/convert.py lift OUT_DIR --solver reference     (one stage at a time: extract, lift, export)

See conversion/README.md for the stages and how they differ from the original tool.
"""

import sys

from signllm_hf.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", *sys.argv[1:]]))
