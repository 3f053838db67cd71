"""The software a result was made with: :func:`versions`, recorded in every result file and
evaluation output."""
from __future__ import annotations

import importlib.metadata
import platform

# The packages whose versions can move a number: the model and its training (torch,
# transformers), the evaluation's statistics and classifiers (scipy, scikit-learn, numpy).
PACKAGES = ("torch", "transformers", "scikit-learn", "scipy", "numpy")


def versions() -> dict[str, str | None]:
    """Versions of mocose, Python and :data:`PACKAGES` (read from the installed metadata, so
    nothing is imported; None for a package that is not installed)."""
    from . import __version__

    out: dict[str, str | None] = {"mocose": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out
