"""Make the generator that ships with vislab (src/vislab/assets/generator-dcgan-mnist-v1.pt) from a `gan train` run,
score it as stored and write its provenance JSON beside it.

    OMP_NUM_THREADS=1 VISLAB_DATA=../shared/data nice vislab gan train --arch dcgan --loss hinge --spectral-norm \\
        --ema 0.999 --epochs 2 --eval-samples 2000 --seed 0 --threads 1 --data ../shared/data/mnist \\
        --out /tmp/gen/dcgan-hinge-sn-ema --quiet
    .venv/bin/python quality/export_generator.py /tmp/gen/dcgan-hinge-sn-ema --rank 128 \\
        --command "<the gan train command above>"

The score is that of the weights as stored (float16, the large matrix factored): 10,000 samples, noise seed 0,
against the shipped MNIST scorer (`vislab gan eval` with no --checkpoint gives the same numbers).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from vislab.fileio import write_json
from vislab.gan import evaluate as ev
from vislab.gan.shipped import PROVENANCE_PATH, SHIPPED_PATH, export_generator, open_shipped


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="the gan train run folder or checkpoint.pt")
    p.add_argument("--rank", type=int, default=128, help="columns of the large matrix's factors (default 128)")
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--command", default="", help="the gan train command that made the run (recorded)")
    a = p.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    export_generator(a.checkpoint, SHIPPED_PATH, rank=a.rank)
    g = open_shipped("cpu")
    scorer = ev.load_scorer("mnist", progress=False)
    scores = ev.score_images(scorer, ev.generate(g.generator, g.settings.noise_dim, a.samples, seed=0))
    facts = {
        "file": SHIPPED_PATH.name, "bytes": SHIPPED_PATH.stat().st_size, "dataset": g.dataset,
        "train_command": a.command, "settings": g.settings.to_dict(), "seed": g.settings.seed, "step": g.step,
        "generator": g.sampled_from, "storage": f"float16; the 6272x1024 matrix as a rank-{a.rank} product "
                                                 "(its truncated SVD)",
        "export_command": f"python quality/export_generator.py RUN --rank {a.rank}",
        "mnist_score": round(scores["mnist_score"], 4), "frechet_distance": round(scores["frechet_distance"], 3),
        "modes": scores["modes"], "class_histogram": scores["class_histogram"], "scored_samples": a.samples,
        "noise_seed": 0, "real_test_score": round(scorer.test_score, 4),
    }
    for k in ("device", "resume"):
        facts["settings"].pop(k, None)
    write_json(PROVENANCE_PATH, facts)
    print(json.dumps({k: facts[k] for k in ("bytes", "step", "mnist_score", "frechet_distance", "modes")}),
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
