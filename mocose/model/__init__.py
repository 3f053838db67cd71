"""The model: MoCoSE and SimCSE over any BERT-family Hugging Face encoder (:mod:`.builder`), their
heads (:mod:`.heads`), the target's EMA (:mod:`.ema`), the queue of negatives and its eviction rule
(:mod:`.queue`), what a step makes of the queue (:mod:`.negatives`), the InfoNCE loss
(:mod:`.infonce`), the embedding-level augmentations of the forward pass (:mod:`.augment`), loading
encoders by name (:mod:`.encoders`) and saving/loading checkpoints (:mod:`.checkpoint`).

May import only the shared top-level modules (config, data, device); nothing of training,
evaluation, the runner or the report.
"""
