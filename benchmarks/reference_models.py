"""Non-spiking reference models on built-in datasets, so a reader can judge their difficulty.

- ``logistic``: multinomial logistic regression on time-pooled front-end features (mean and
  standard deviation of each channel over time, standardised on the training split),
- ``logistic-windows``: logistic regression on the features averaged over 5 windows of T/5
  steps, and the same on spike counts over those windows for every encoder (``rate``,
  ``bsa``, ``delta`` with default parameters, encoded from the stored features exactly as a
  build would): how much of what a linear read-out finds in the features survives encoding,
- ``gru``: a one-layer GRU (128 units) over the frame sequence, the mean of its outputs over
  time → linear (the last state alone must carry the word through the noise that follows it,
  and trained poorly: 64 % on speaker-dependent letters, below the logistic model).

Datasets must hold features (``scsr dataset build ... --features``). Seeded; CPU is enough.

    .venv/bin/python benchmarks/reference_models.py build/data/letters-sd.npz ... \
        --out build/bench/reference_models.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def pooled(x: np.ndarray) -> np.ndarray:
    """(N, T, F) → (N, 2F): mean and standard deviation over time."""
    x = x.astype(np.float32)
    return np.concatenate([x.mean(axis=1), x.std(axis=1)], axis=1)


def windows(x: np.ndarray, count: int = 5) -> np.ndarray:
    """(N, T, F) → (N, count·F): means over ``count`` equal windows of time (T cut to fit)."""
    steps = x.shape[1] // count * count
    return x[:, :steps].reshape(len(x), count, -1, x.shape[2]).mean(axis=2, dtype=np.float32
                                                                  ).reshape(len(x), -1)


def logistic(train_x, train_y, test_x, test_y, classes: int, seed: int) -> float:
    """Full-batch L-BFGS softmax regression with a small L2 penalty; test accuracy."""
    import torch

    torch.manual_seed(seed)
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    xs = torch.tensor((train_x - mean) / std)
    ys = torch.tensor(train_y)
    model = torch.nn.Linear(xs.shape[1], classes)
    opt = torch.optim.LBFGS(model.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xs), ys) + 1e-3 * model.weight.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = model(torch.tensor((test_x - mean) / std)).argmax(dim=1).numpy()
    return float(np.mean(pred == test_y))


def gru(train_x, train_y, test_x, test_y, classes: int, seed: int, epochs: int,
        hidden: int = 128) -> float:
    """GRU over frames, Adam, fixed epochs (no tuning on test); test accuracy."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = torch.nn.GRU(train_x.shape[2], hidden, batch_first=True)
            self.out = torch.nn.Linear(hidden, classes)

        def forward(self, x):
            return self.out(self.rnn(x)[0].mean(dim=1))

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    xs, ys = torch.tensor(train_x), torch.tensor(train_y)
    for _ in range(epochs):
        net.train()
        for batch in np.array_split(rng.permutation(len(ys)), max(1, len(ys) // 64)):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xs[batch]), ys[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        pred = net(torch.tensor(test_x)).argmax(dim=1).numpy()
    return float(np.mean(pred == test_y))


def evaluate(path: str, seed: int, epochs: int) -> dict:
    from scsr.data import encoders, load_dataset

    data = load_dataset(path)
    if data.train_features is None:
        raise SystemExit(f"{path}: no features; build it with --features")
    k = len(data.classes)
    start = time.perf_counter()
    result = {
        "dataset": path, "source": data.config.get("source"),
        "train": len(data.train_labels), "test": len(data.test_labels),
        "timesteps": data.timesteps, "channels": data.channels,
        "features": int(data.train_features.shape[2]),
        "logistic": logistic(pooled(data.train_features), data.train_labels,
                             pooled(data.test_features), data.test_labels, k, seed),
        "logistic_windows_features": logistic(windows(data.train_features), data.train_labels,
                                              windows(data.test_features), data.test_labels,
                                              k, seed),
        "gru128": (gru(data.train_features, data.train_labels, data.test_features,
                       data.test_labels, k, seed, epochs) if epochs > 0 else None),
        "gru_epochs": epochs, "seed": seed,
    }
    for name in encoders.ENCODERS:
        params = encoders.encoder_defaults(name)
        train_s = encoders.encode(data.train_features, params)
        test_s = encoders.encode(data.test_features, params)
        result[f"logistic_windows_{name}"] = logistic(windows(train_s), data.train_labels,
                                                      windows(test_s), data.test_labels, k, seed)
        result[f"rate_{name}"] = float(train_s.mean())
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", metavar="FILE", help="dataset files")
    parser.add_argument("--out", default="build/bench/reference_models.json", metavar="FILE",
                        help="JSON result")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed")
    parser.add_argument("--epochs", type=int, default=15, metavar="N",
                        help="GRU epochs (0: no GRU)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    results = []
    for path in args.datasets:
        r = evaluate(path, args.seed, args.epochs)
        results.append(r)
        src = r["source"] or {}
        gru_text = "not run" if r["gru128"] is None else f"{100 * r['gru128']:.1f} %"
        spikes = ", ".join(f"{n} {100 * r[f'logistic_windows_{n}']:.1f} %"
                           for n in ("rate", "bsa", "delta"))
        print(f"reference_models: {src.get('kind')} {src.get('split')}: logistic "
              f"{100 * r['logistic']:.1f} %, GRU-128 {gru_text}; 5-window "
              f"logistic: features {100 * r['logistic_windows_features']:.1f} %, spikes "
              f"{spikes} ({r['train']} train / {r['test']} test, {r['seconds']} s)",
              flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"benchmark": "reference_models",
                                          "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
