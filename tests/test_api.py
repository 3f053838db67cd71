"""The Python API of the README runs as written.

Every probe runs the real command (``mocose.cli.main``) and checks the message, the exit status
and that nothing was written (tests/faults_support.py)."""
from __future__ import annotations

import re

import numpy as np

from faults_support import NEEDS_DATA, offline, ROOT  # noqa: F401 (fixtures)

pytestmark = NEEDS_DATA


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_api_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)  # noqa: S102 - the README's code
    vectors, results, frame = namespace["vectors"], namespace["results"], namespace["frame"]
    assert vectors.shape == (2, 32) and vectors.dtype == np.float32
    import mocose

    again = mocose.encode("tiny-random-bert", ["A man is playing a guitar."])
    np.testing.assert_array_equal(again[0], vectors[0])
    assert list(frame["task"]) == ["STSBenchmark"] and frame["score"][0] == results["avg"]["sts"]
    assert results["pooler"] == "cls_before_pooler" and results["tasks"]["STSBenchmark"]["test"]["n"] == 1379
