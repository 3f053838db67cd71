"""Training-step speed: the suite's MoCoSE step against a reference written the authors' way.

Prints, for each model and queue size: median step time, sentences per second, the share of the
step spent outside the encoder passes (queue, EMA, loss, augmentation), the time of each of those
parts alone, and the same step with the authors' loss (cosines by broadcasting a [B, M, d]
tensor), EMA (a Python loop over state_dict entries) and queue (torch.cat each step). All figures
come from one run on one machine, so compare ratios, not absolute times.

    python benchmarks/train_step.py [--models smoke,cpu] [--queues 512,4096] [--steps 8]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from mocose.model import encoders
from mocose.model.batch import Batch
from mocose.model.mocose import MoCoSE
from mocose.profiles import load_profile

SENTENCE = "the quick brown fox jumps over the lazy dog while the cat watches from a sunny window sill"


def timed(fn, repeats: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def authors_loss(q: torch.Tensor, k: torch.Tensor, queue_t: torch.Tensor, temp: float = 0.05) -> torch.Tensor:
    """The authors' InfoNCEWithQueue: nn.CosineSimilarity over broadcast [B, 1, d] x [1, M, d]."""
    cos = torch.nn.CosineSimilarity(dim=-1)
    pos = cos(q.unsqueeze(1), k.unsqueeze(0))
    neg = cos(q.unsqueeze(1), queue_t.T.unsqueeze(0))
    logits = torch.cat((pos, neg), dim=1) / temp
    return F.cross_entropy(logits, torch.arange(q.shape[0]))


def authors_ema(target: torch.nn.Module, online: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        for e, m in zip(target.state_dict().values(), online.state_dict().values()):
            e.copy_(decay * e + (1.0 - decay) * m)


def bench(profile: str, queue_size: int, batch_size: int, length: int, steps: int) -> dict:
    torch.manual_seed(0)
    encoder, tokenizer = encoders.load(load_profile(profile).model.encoder)
    config = load_profile(profile).override({"queue_size": queue_size, "batch_size": batch_size})
    model = MoCoSE(encoder, config, torch.Generator().manual_seed(0)).train()
    enc = tokenizer([SENTENCE] * batch_size, padding="max_length", truncation=True, max_length=length,
                    return_tensors="pt")
    batch = Batch(enc["input_ids"], enc["attention_mask"])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    for _ in range(max(1, queue_size // batch_size)):  # fill the queue
        with torch.no_grad():
            model.queue.enqueue(torch.randn(batch_size, model.queue.dim))

    def step() -> None:
        model.update_target(100, 15000)
        out = model(batch)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    def encoders_only() -> None:
        ids, mask = batch.input_ids, batch.attention_mask
        online = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
        target = model.target_encoder(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
        (online.sum() + target.sum()).backward()  # key gradient flows through the target too

    q = torch.randn(batch_size, model.queue.dim, requires_grad=True)
    k = torch.randn(batch_size, model.queue.dim, requires_grad=True)
    from mocose.model.infonce import info_nce
    from mocose.model.negatives import reduce_negatives

    def loss_only() -> None:
        info_nce(q, k, reduce_negatives(model.queue.negatives(), model.negative_rule), 0.05).backward()

    def authors_loss_only() -> None:
        authors_loss(q, k, model.queue.negatives().T.contiguous()).backward()

    queue_t = model.queue.negatives().T.contiguous()

    def authors_queue_only() -> None:
        nonlocal queue_t
        queue_t = torch.cat((k.detach().T, queue_t), dim=1)[:, :queue_size]

    ema_pairs = [(model.target_encoder.encoder, model.encoder.encoder), (model.target_pooler, model.pooler),
                 (model.target_projection, model.projection)]
    full = timed(step, steps)
    enc_time = timed(encoders_only, steps)
    parts = {
        "ema": timed(lambda: model.update_target(100, 15000), steps),
        "queue": timed(lambda: model.queue.enqueue(k.detach()), steps),
        "loss": timed(loss_only, steps),
    }
    authors = {
        "ema": timed(lambda: [authors_ema(t, o, 0.9) for t, o in ema_pairs], steps),
        "queue": timed(authors_queue_only, steps),
        "loss": timed(authors_loss_only, steps),
    }
    # The authors' step = the suite's step with its three parts swapped for theirs.
    authors_step = full - sum(parts.values()) + sum(authors.values())
    return {"profile": profile, "K": queue_size, "B": batch_size, "L": length, "step_s": full,
            "sent_per_s": batch_size / full, "encoders_s": enc_time,
            "outside_share": max(0.0, (full - enc_time) / full), "parts": parts, "authors_parts": authors,
            "authors_step_s": authors_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="smoke,cpu")
    parser.add_argument("--queues", default="512,4096")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {args.batch}, length {args.length}")
    print(f"{'model':6} {'K':>5} {'step s':>8} {'sent/s':>8} {'enc s':>7} {'outside':>8} "
          f"{'ema ms':>7} {'queue ms':>8} {'loss ms':>8} | {'authors ema/queue/loss ms':>26} {'authors step s':>14} {'speed-up':>8}")
    for profile in args.models.split(","):
        for k in map(int, args.queues.split(",")):
            r = bench(profile, k, args.batch, args.length, args.steps)
            p, a = r["parts"], r["authors_parts"]
            print(f"{profile:6} {k:5d} {r['step_s']:8.3f} {r['sent_per_s']:8.1f} {r['encoders_s']:7.3f} "
                  f"{r['outside_share']:8.1%} {p['ema'] * 1e3:7.1f} {p['queue'] * 1e3:8.2f} {p['loss'] * 1e3:8.2f} | "
                  f"{a['ema'] * 1e3:8.1f}/{a['queue'] * 1e3:6.2f}/{a['loss'] * 1e3:8.2f}   {r['authors_step_s']:14.3f} "
                  f"{r['authors_step_s'] / r['step_s']:7.2f}x")


if __name__ == "__main__":
    main()
