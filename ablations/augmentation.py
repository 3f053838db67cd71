"""The augmentation table and Table 9 (FGSM epsilon), numbers from the slides."""
from __future__ import annotations

from .spec import Artifact, Cell, Claim, beats, best

_AUGMENTS = (
    ("dropout only", {}, 76.76),
    ("+ FGSM (5e-9)", {"fgsm_epsilon": 5e-9}, 77.04),
    ("+ position shuffle", {"position_shuffle": True}, 73.80),
    ("+ token dropout (0.1)", {"token_cutoff": 0.1}, 41.32),
    ("+ feature dropout (0.01)", {"feature_cutoff": 0.01}, 76.33),
    ("+ feature dropout (0.1)", {"feature_cutoff": 0.1}, 71.62),
    ("+ typos (nlpaug SpellingAug)", {"text_augment": "spelling"}, 22.32),
    ("+ typos (offline keyboard stand-in)", {"text_augment": "typos"}, None),
    ("+ synonym replace (roberta-base)", {"text_augment": "synonym"}, 28.70),
    ("+ paraphrasing (xlnet-base-cased)", {"text_augment": "paraphrase"}, 60.45),
    ("+ back-translation (en-de-en)", {"text_augment": "back_translation"}, 69.35),
)

STAND_IN = "+ typos (offline keyboard stand-in)"  # a suite addition: no published number

AUGMENTATIONS = Artifact(
    name="augmentations",
    title="Data augmentations on top of dropout (STS avg.)",
    kind="table",
    row_title="Augmentation Methods",
    cells=tuple(Cell(label, overrides, value, row=label, col="Avg.", addition=label == STAND_IN)
                for label, overrides, value in _AUGMENTS),
    claims=(
        Claim("FGSM 5e-9 adds to dropout", (beats("+ FGSM (5e-9)", "dropout only"),)),
        Claim("Every other augmentation does worse than dropout alone",
              tuple(beats("dropout only", label) for label, _, _ in _AUGMENTS[2:]
                    if label != STAND_IN)),
    ),
    notes="The paper's Typos row is nlpaug's SpellingAug (text_augment=spelling, needs nlpaug); "
          "the offline keyboard-noise stand-in (text_augment=typos) is a different noise and has "
          "no published number. Synonym, paraphrase and back-translation need nlpaug and their "
          "models; without them those runs fail with a message naming what is missing and the "
          "cells say so.",
)

_EPSILONS = ((1e-9, 75.61), (5e-9, 76.64), (1e-8, 75.39), (5e-8, 76.62), (0.0, 76.26))


def _sci(value: float) -> str:
    """5e-09 -> 5e-9, as the slides print it."""
    return f"{value:g}".replace("e-0", "e-")


EPS_LABELS = [f"eps {_sci(e)}" if e else "no FGSM" for e, _ in _EPSILONS]

TABLE9 = Artifact(
    name="table9",
    title="Table 9: FGSM epsilon (STS avg.)",
    kind="table",
    col_title="Epsilon",
    cells=tuple(Cell(label, {"fgsm_epsilon": e}, value, row="STS avg.",
                     col=_sci(e) if e else "No", x=e)
                for label, (e, value) in zip(EPS_LABELS, _EPSILONS)),
    claims=(
        Claim("epsilon = 5e-9 is the best FGSM step", best("eps 5e-9", EPS_LABELS)),
        Claim("FGSM 5e-9 beats no FGSM", (beats("eps 5e-9", "no FGSM"),)),
    ),
    notes="At 5e-9 the step is near fp32 resolution for typical embedding entries; see each run's "
          "diagnostics.fgsm_changed_fraction for how many entries FGSM changed at all.",
)

ARTIFACTS = (AUGMENTATIONS, TABLE9)
