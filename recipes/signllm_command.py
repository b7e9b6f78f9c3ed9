"""Any `signllm` training command as a script for `accelerate launch`: the discrete path's pose tokenizer and pose LM
(and the judges) train on several processes as `recipes/train.py` trains SignLLM.

    # the pose tokenizer, then a pose LM with LoRA, on every GPU of one machine
    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/signllm_command.py \\
        train-pose-tokenizer runs/pose-vq --corpus DATA --downsample 2 --seconds 1800
    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/signllm_command.py \\
        train-pose-lm runs/pose-lm --pose-tokenizer runs/pose-vq --corpus DATA --lm Qwen/Qwen2.5-0.5B --lora-r 16
    # two CPU processes (gloo), to try it without a GPU
    accelerate launch --config_file recipes/accelerate/cpu_ddp.yaml recipes/signllm_command.py train-pose-lm ...

The arguments after the script are those of `signllm COMMAND` (`signllm COMMAND --help`). Each process trains on its
share of every batch; process 0 writes the model and its scores; at the end every process waits for it, then the
process group is destroyed (`signllm_hf.training.scaffold.distributed_run`).
"""

import sys

from signllm_hf.cli import main
from signllm_hf.training.scaffold import distributed_run

if __name__ == "__main__":
    with distributed_run():
        status = main(sys.argv[1:])
    sys.exit(status)
