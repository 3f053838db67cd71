"""The SentEval task names the suite evaluates, their groups, and where their files live."""
from __future__ import annotations

from ..config import ConfigError

STS_TASKS = ("STS12", "STS13", "STS14", "STS15", "STS16", "STSBenchmark", "SICKRelatedness")
TRANSFER_TASKS = ("MR", "CR", "SUBJ", "MPQA", "SST2", "TREC", "MRPC")
# name -> group, in the order of the paper's tables
TASKS: dict[str, str] = {**{t: "sts" for t in STS_TASKS}, **{t: "transfer" for t in TRANSFER_TASKS}}
GROUPS = {"sts": STS_TASKS, "transfer": TRANSFER_TASKS, "all": STS_TASKS + TRANSFER_TASKS}

# Column headers of the paper's tables.
SHORT_NAMES = {"STSBenchmark": "STS-B", "SICKRelatedness": "SICK-R", "SST2": "SST"}

# SentEval's subsets per STS year (STS13 without the licensed SMT subset, as in SentEval).
STS_SUBSETS = {
    "STS12": ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),
    "STS13": ("FNWN", "headlines", "OnWN"),
    "STS14": ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"),
    "STS15": ("answers-forums", "answers-students", "belief", "headlines", "images"),
    "STS16": ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
}


def parse_tasks(tasks: str | list[str] | tuple[str, ...]) -> list[str]:
    """Task names from ``sts``/``transfer``/``all``, a list, or a comma/space-separated string.

    Order follows the paper's tables; duplicates are dropped. Unknown names raise ConfigError
    listing the valid ones.
    """
    items = tasks.replace(",", " ").split() if isinstance(tasks, str) else list(tasks)
    chosen: set[str] = set()
    by_lower = {t.lower(): t for t in TASKS}
    for item in items:
        key = item.strip()
        if key.lower() in GROUPS:
            chosen.update(GROUPS[key.lower()])
        elif key.lower() in by_lower:
            chosen.add(by_lower[key.lower()])
        elif key:
            raise ConfigError(f"unknown evaluation task {key!r}: tasks must be sts, transfer, all or "
                              f"any of {', '.join(TASKS)}")
    if not chosen:
        raise ConfigError(f"no evaluation task given: use sts, transfer, all or any of {', '.join(TASKS)}")
    return [t for t in TASKS if t in chosen]
