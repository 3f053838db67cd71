"""Shared test setup: the data folder beside the project unless MOCOSE_DATA says otherwise."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def data_folder(monkeypatch):
    if not os.environ.get("MOCOSE_DATA") and DEFAULT_DATA.is_dir():
        monkeypatch.setenv("MOCOSE_DATA", str(DEFAULT_DATA))
