"""Shared test setup: the data folder beside the project unless MOCOSE_DATA says otherwise."""
import os
import sys
from pathlib import Path

import pytest

# The tests never reach the Hugging Face hub (CI has no network): offline, a hub name is refused at
# once instead of after the client's retries (46 s a test), here and in the processes tests start.
# Set before huggingface_hub is imported, which reads it once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Libraries that give their loggers a StreamHandler on first import bind the sys.stderr of that
# moment; imported first inside a test using capsys, they would write to its closed buffer in later
# tests ("--- Logging error ---" in place of the one-line errors those tests read). Imported here,
# they bind the session's stderr.
import huggingface_hub  # noqa: E402,F401
import transformers  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"

# The README's test command passes a relative MOCOSE_DATA (../shared/data); tests that work in
# their own folder (and the processes they start there) must still find it: made absolute once,
# against the folder pytest was started from.
if os.environ.get("MOCOSE_DATA"):
    os.environ["MOCOSE_DATA"] = str(Path(os.environ["MOCOSE_DATA"]).expanduser().resolve())


@pytest.fixture(autouse=True)
def data_folder(monkeypatch):
    if not os.environ.get("MOCOSE_DATA") and DEFAULT_DATA.is_dir():
        monkeypatch.setenv("MOCOSE_DATA", str(DEFAULT_DATA))


def run_cut_at(monkeypatch, step: int, start_run) -> None:
    """Call ``start_run()`` with training made to die (KeyboardInterrupt) as it reaches ``step``,
    after the state saved before it: a killed run to resume."""
    from mocose.training import loop as train_mod

    real_batch = train_mod.Batches.batch

    def killed(self, at):
        if at == step:
            raise KeyboardInterrupt
        return real_batch(self, at)

    monkeypatch.setattr(train_mod.Batches, "batch", killed)
    with pytest.raises(KeyboardInterrupt):
        start_run()
    monkeypatch.setattr(train_mod.Batches, "batch", real_batch)


TESTS = Path(__file__).resolve().parent


def fake_sweep_env(tmp_path: Path, monkeypatch) -> Path:
    """A sweep's surroundings for the fake registries: the tests folder importable by the job
    processes (they call test_runner_sweep's fake experiment), a tiny data folder under ``tmp_path``."""
    (tmp_path / "data" / "senteval").mkdir(parents=True)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(TESTS)]))
    monkeypatch.delenv("MOCOSE_FAKE_SLEEP", raising=False)
    return tmp_path


def mocose_with(module: str, *args: str, functions: str = "FUNCTIONS") -> list[str]:
    """The command line of ``mocose ARGS`` over test module ``module``'s registry and the job
    functions of its attribute ``functions`` ("-": the suite's own)."""
    return [sys.executable, str(TESTS / "mocose_with.py"), module, functions, *args]


def sweep(pairs, *, devices: str = "cpu", artifact: str = "", keep_best=frozenset(), pool=None, out=None,
          functions=None, **options):
    """``mocose.runner.execute`` over ``pairs`` with SweepOptions made of ``options`` (folders as
    given), the slots of ``devices`` and ``functions`` (default: test_runner_sweep's fake experiment)."""
    from mocose.runner import JobFunctions, SweepOptions, execute, parse_devices

    for key in ("results_dir", "data_dir"):
        options[key] = Path(options[key]).expanduser().resolve()
    opts = SweepOptions(functions=functions or JobFunctions(train="test_runner_sweep:fake_experiment"), **options)
    slots = parse_devices(devices, local=not opts.scheduler and not opts.dry_run)
    return execute(pairs, opts, slots, artifact=artifact, keep_best=keep_best, pool=pool, out=out)
