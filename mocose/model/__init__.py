"""The model: what the training loop needs of one (:mod:`.interface`), MoCoSE (:mod:`.mocose`)
and SimCSE (:mod:`.simcse`) over any BERT-family Hugging Face encoder, the one a config names
(:mod:`.factory`), a step's batch and output (:mod:`.batch`), the encoder passes (:mod:`.passes`),
the heads (:mod:`.heads`), the target's EMA (:mod:`.ema`), the queue of negatives and its eviction
rule (:mod:`.queue`), what a step makes of the queue (:mod:`.negatives`), the InfoNCE loss
(:mod:`.infonce`), the embedding-level augmentations of the forward pass (:mod:`.augment`) and of
an evaluation when the authors' habit asks (:mod:`.eval_augment`), loading encoders by name
(:mod:`.encoders`) and saving/loading checkpoints (:mod:`.checkpoint`).

May import only the shared top-level modules (config, queue_specs, data, device); nothing of
training, evaluation, the runner or the report.
"""
