"""Train SignLLM with Accelerate: the same entry point as `signllm train`, as a script for `accelerate launch`.

    # one GPU, or the CPU
    python recipes/train.py --config recipes/configs/tiny_cpu.yaml --dataset corpora/fingerspelling \\
        --output_dir runs/tiny
    # several GPUs on one machine
    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/train.py \\
        --config recipes/configs/base.yaml --dataset DATA --output_dir runs/base
    # several machines: run on each, with its --machine_rank (see recipes/accelerate/multi_node.yaml)
    accelerate launch --config_file recipes/accelerate/multi_node.yaml --machine_rank 0 recipes/train.py ...
    # FSDP (large and super presets)
    accelerate launch --config_file recipes/accelerate/fsdp.yaml recipes/train.py --config ... --preset super
    # two CPU processes (gloo): `--cpu --num_processes 2` silently runs ONE process, this config runs two
    accelerate launch --config_file recipes/accelerate/cpu_ddp.yaml recipes/train.py \\
        --config recipes/configs/tiny_cpu.yaml --dataset DATA --output_dir runs/ddp

Every field of the YAML config can be overridden on the command line (`--max_steps 500`); see
`python recipes/train.py --help` for all of them (data, model and SignLLMTrainingArguments). `--dataset` and
`--output_dir` are required. At the end every process waits for process 0 to finish writing, then the process group
is destroyed (`signllm_hf.training.scaffold.distributed_run`).
"""

from signllm_hf.training.run import main

if __name__ == "__main__":
    main()
