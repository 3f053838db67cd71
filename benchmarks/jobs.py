"""What runs cost on a device: several jobs per GPU, seconds a step, precision, per-run overhead.

Sections (``--sections``, comma-separated; each prints its figures and appends JSON lines to
``--out/jobs.jsonl``):

- ``packing``: the same training job (a bert-base-shaped encoder with random weights, the
  bert-base-uncased vocabulary, B 64, L 32, K 512) started 1, 2, 4 and 8 at a time on one GPU:
  wall time of each batch and the throughput against one at a time (N t1 / tN).
- ``steps``: for the paper (bert-base-shaped), cpu and smoke profiles, ``mocose train --evaluate``
  at two lengths, the profile's own validation interval; the slope is the seconds a step (its
  validations included), the intercept the fixed seconds of a run (process start, loading, final
  STS evaluation); with ``--write-table`` they replace the entries of the step-time table the plan
  prices runs with (``mocose/runner/data/step_times.json``).
- ``precision``: the packing job alone under matmul_precision highest, high (TF32) and bf16 autocast.
- ``sweep``: ``reproduce table3 --profile smoke`` with a fresh process per run and with the job
  process reused per slot, into fresh results folders: the per-run overhead the reuse removes.

    python benchmarks/jobs.py --sections packing,steps,precision,sweep --device cuda --out DIR
    python benchmarks/jobs.py --sections sweep --device cpu --out DIR      # on a CPU machine

Needs $MOCOSE_DATA. All figures come from one session; where the cores are shared with other work,
compare ratios within one run, not absolute times.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mocose.runner.cost import write_step_entry  # noqa: E402


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def mocose(*args: str) -> list[str]:
    return [sys.executable, "-m", "mocose", *args]


def timed_batch(commands: list[list[str]]) -> float:
    """Start the commands together and wait for all; their wall time (each must succeed)."""
    start = time.perf_counter()
    procs = [subprocess.Popen(c, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for c in commands]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise RuntimeError(f"{' '.join(commands[0])} failed: {err[-2000:]}")
    return time.perf_counter() - start


def bert_base_folder(work: Path) -> Path:
    """A bert-base-shaped encoder with random weights (the real one needs the network)."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from mocose.model.encoders import minilm_path

    folder = work / "bert-base-random"
    if not (folder / "config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))  # bert-base-uncased's vocabulary
        BertModel(BertConfig(vocab_size=tokenizer.vocab_size)).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return folder


def paper_job(folder: Path, out: Path, steps: int, *sets: str, evaluate: bool = False) -> list[str]:
    """A paper-profile training job on the bert-base-shaped encoder, from the 11,913-line head."""
    args = ["train", "--profile", "paper", "--out", str(out), "--quiet", "--device", DEVICE,
            "--set", f"encoder={folder}", "--set", "train_sentences=11904", "--set", "epochs=3",
            "--set", f"max_steps={steps}"]
    for item in sets:
        args += ["--set", item]
    return mocose(*args, *(["--evaluate"] if evaluate else []))


def record(out: Path, row: dict) -> None:
    print(json.dumps(row), flush=True)
    with (out / "jobs.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")


def packing(work: Path, out: Path, steps: int) -> None:
    folder = bert_base_folder(work)
    job = lambda i, n: paper_job(folder, work / f"pack{n}-{i}", steps, "eval_steps=100000")  # noqa: E731
    timed_batch([job(0, 0)])  # warm the caches (files, CUDA kernels' first load)
    base = None
    for n in (1, 2, 4, 8):
        wall = timed_batch([job(i, n) for i in range(n)])
        base = base or wall
        record(out, {"section": "packing", "jobs": n, "steps_each": steps, "wall_s": round(wall, 2),
                     "throughput_vs_one": round(n * base / wall, 3)})


def steps_section(work: Path, out: Path) -> None:
    folder = bert_base_folder(work)
    cases = {
        "paper": [(n, paper_job(folder, work / f"steps-paper-{n}", n, evaluate=True)) for n in (100, 300)],
        "cpu": [(n, mocose("train", "--profile", "cpu", "--out", str(work / f"steps-cpu-{n}"), "--quiet",
                           "--device", DEVICE, "--evaluate", "--set", f"max_steps={n}")) for n in (40, 100)],
        "smoke": [(n, mocose("train", "--profile", "smoke", "--out", str(work / f"steps-smoke-{n}"), "--quiet",
                             "--device", DEVICE, "--evaluate", "--set", "epochs=4", "--set", f"max_steps={n}"))
                  for n in (16, 64)],
    }
    for profile, runs in cases.items():
        (n1, c1), (n2, c2) = runs
        t1, t2 = timed_batch([c1]), timed_batch([c2])
        step = (t2 - t1) / (n2 - n1)
        record(out, {"section": "steps", "profile": profile, "device": DEVICE, "steps": [n1, n2],
                     "wall_s": [round(t1, 2), round(t2, 2)], "step_s": round(step, 4),
                     "fixed_s": round(t1 - n1 * step, 2)})
        if WRITE_TABLE:  # the plan prices runs from this table (mocose/runner/data/step_times.json)
            write_step_entry(profile, DEVICE.split(":")[0], step, t1 - n1 * step,
                             f"benchmarks/jobs.py --sections steps on {device_name()}")


def precision(work: Path, out: Path, steps: int) -> None:
    folder = bert_base_folder(work)
    for name, sets in (("highest", ()), ("high (TF32)", ("matmul_precision=high",)),
                       ("bf16 autocast", ("autocast=bf16",))):
        target = work / f"prec-{name.split()[0]}"
        timed_batch([paper_job(folder, target, steps, "eval_steps=100000", *sets)])
        summary = json.loads((target / "train.json").read_text())
        record(out, {"section": "precision", "setting": name, "steps": summary["steps"],
                     "train_wall_s": round(summary["wall_time"], 2),
                     "s_per_step": round(summary["wall_time"] / summary["steps"], 4)})


def sweep(work: Path, out: Path, devices: str, artifact: str) -> None:
    walls = {}
    for mode, extra in (("process per run", ["--process-per-run"]), ("reused job process", [])):
        results = work / f"sweep-{'fresh' if extra else 'reused'}"
        walls[mode] = timed_batch([mocose("reproduce", artifact, "--profile", "smoke", "--devices", devices,
                                          "--results", str(results), "--no-report", "--quiet", *extra)])
        runs = list((results / "smoke" / "runs").glob("*.json"))
        record(out, {"section": "sweep", "mode": mode, "artifact": artifact, "devices": devices,
                     "runs": len(runs), "wall_s": round(walls[mode], 2),
                     "s_per_run": round(walls[mode] / max(1, len(runs)), 2)})
    record(out, {"section": "sweep", "reused_over_fresh": round(walls["reused job process"]
                                                               / walls["process per run"], 3)})


DEVICE = "cuda"
WRITE_TABLE = False


def device_name() -> str:
    """The measuring device in words (the GPU's name, or this machine's processor count)."""
    import torch

    if DEVICE.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"a {os.cpu_count()}-core CPU"


def main() -> None:
    global DEVICE, WRITE_TABLE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", default="packing,steps,precision,sweep")
    parser.add_argument("--device", default="cuda", help="cuda or cpu")
    parser.add_argument("--devices", default=None, help="--devices of the sweep section (default: --device)")
    parser.add_argument("--artifact", default="table3", help="artifact of the sweep section")
    parser.add_argument("--steps", type=int, default=150, help="steps of the packing and precision job")
    parser.add_argument("--out", default=".", help="folder for jobs.jsonl")
    parser.add_argument("--write-table", action="store_true",
                        help="steps section: write the measured figures into the plan's step-time table")
    args = parser.parse_args()
    DEVICE, WRITE_TABLE = args.device, args.write_table
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mocose-jobs-") as tmp:
        work = Path(tmp)
        for section in args.sections.split(","):
            start = time.perf_counter()
            if section == "packing":
                packing(work, out, args.steps)
            elif section == "steps":
                steps_section(work, out)
            elif section == "precision":
                precision(work, out, args.steps)
            elif section == "sweep":
                sweep(work, out, args.devices or args.device, args.artifact)
            else:
                raise SystemExit(f"unknown section {section!r}")
            print(f"# {section}: {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
