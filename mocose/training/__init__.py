"""Training: the loop (:mod:`.loop`) and its one optimisation step (:mod:`.step`), the batches
(:mod:`.batches`), validation (:mod:`.validation`), the run folder and resume (:mod:`.run_folder`),
the text-level augmentations that make the target's view (:mod:`.text_augment`), one experiment
(train, evaluate, analyse a cell: :mod:`.experiment`) and ``mocose train`` (:mod:`.commands`).

May import :mod:`mocose.model`, :mod:`mocose.evaluation` and the shared top-level modules; never
the runner or the report.
"""
