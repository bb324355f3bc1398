"""Fine-tuning the embedding model: data and augmentation, the network, the training loop.

Run ``python -m training.train --help``; under ``torchrun --nproc_per_node=N`` it trains with
DistributedDataParallel (gloo on CPU, nccl on GPU).
"""
