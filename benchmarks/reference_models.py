"""Non-spiking reference models on built-in datasets, so a reader can judge their difficulty.

- ``logistic``: multinomial logistic regression on time-pooled front-end features (mean and
  standard deviation of each channel over time, standardised on the training split),
- ``logistic-windows``: logistic regression on the features averaged over 5 windows of T/5
  steps, and the same on spike counts over those windows for every encoder (``rate``,
  ``bsa``, ``delta`` with default parameters, encoded from the stored features exactly as a
  build would): how much of what a linear read-out finds in the features survives encoding,
- ``gru``: a one-layer GRU (``--hidden`` units, default 128: the width of each hidden layer
  of the letters SNN) over the frame sequence, the mean of its outputs over time → linear
  (the last state alone must carry the word through the noise that follows it, and trained
  poorly: 64 % on speaker-dependent letters, below the logistic model).

Datasets must hold features (``scsr dataset build ... --features``). Seeded; CPU is enough
(``--device cuda`` runs the GRU on a GPU; ``--only gru`` skips the logistic models).
``--gru-input spikes`` feeds the GRU the dataset's spike trains instead of the frames (no
features needed with ``--only gru``): how much of the SNN's gap to the GRU is its input code.

    .venv/bin/python -m benchmarks.reference_models build/data/letters-sd-features.npz ... \
        --out build/bench/reference_models.json
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from golden_model.atomic import write_json


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
        hidden: int = 128, device: str = "cpu") -> float:
    """GRU over frames, Adam, fixed epochs (no tuning on test); test accuracy."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = torch.nn.GRU(train_x.shape[2], hidden, batch_first=True)
            self.out = torch.nn.Linear(hidden, classes)

        def forward(self, x):
            return self.out(self.rnn(x)[0].mean(dim=1))

    net = Net().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    xs, ys = torch.tensor(train_x, device=device), torch.tensor(train_y, device=device)
    for _ in tqdm(range(epochs), desc=f"GRU-{hidden}", unit="epoch", leave=False):
        net.train()
        for part in np.array_split(rng.permutation(len(ys)), max(1, len(ys) // 64)):
            batch = torch.as_tensor(part, device=device)
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xs[batch]), ys[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        pred = np.concatenate([net(torch.tensor(test_x[i:i + 256], device=device))
                               .argmax(dim=1).cpu().numpy() for i in range(0, len(test_x), 256)])
    return float(np.mean(pred == test_y))


def evaluate(path: str, seed: int, epochs: int, hidden: int = 128, device: str = "cpu",
             only_gru: bool = False, gru_input: str = "features") -> dict:
    from scsr.data import encoders, load_dataset

    data = load_dataset(path)
    if data.train_features is None and not (only_gru and gru_input == "spikes"):
        raise SystemExit(f"{path}: no features; build it with --features")
    if gru_input == "spikes":
        train_in, test_in = (s.astype(np.float32) for s in (data.train_spikes,
                                                             data.test_spikes))
    else:
        train_in, test_in = data.train_features, data.test_features
    k = len(data.classes)
    start = time.perf_counter()
    result: dict = {
        "dataset": path, "source": data.config.get("source"),
        "train": len(data.train_labels), "test": len(data.test_labels),
        "timesteps": data.timesteps, "channels": data.channels,
        "features": int(train_in.shape[2]), "seed": seed,
        "gru": (gru(train_in, data.train_labels, test_in, data.test_labels, k, seed, epochs,
                    hidden, device) if epochs > 0 else None),
        "gru_hidden": hidden, "gru_epochs": epochs, "gru_input": gru_input, "device": device,
    }
    if not only_gru:
        result["logistic"] = logistic(pooled(data.train_features), data.train_labels,
                                      pooled(data.test_features), data.test_labels, k, seed)
        result["logistic_windows_features"] = logistic(
            windows(data.train_features), data.train_labels, windows(data.test_features),
            data.test_labels, k, seed)
        for name in encoders.ENCODERS:
            params = encoders.encoder_defaults(name)
            train_s = encoders.encode(data.train_features, params)
            test_s = encoders.encode(data.test_features, params)
            result[f"logistic_windows_{name}"] = logistic(
                windows(train_s), data.train_labels, windows(test_s), data.test_labels, k, seed)
            result[f"rate_{name}"] = float(train_s.mean())
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def summary(r: dict) -> str:
    """The one printed line of a result."""
    src = r["source"] if isinstance(r["source"], dict) else {"kind": r["source"]}
    text = (f"reference_models: {src.get('kind')} {src.get('split')}: GRU-{r['gru_hidden']} "
            + ("on spikes " if r.get("gru_input") == "spikes" else "")
            + ("not run" if r["gru"] is None else f"{100 * r['gru']:.1f} %"))
    if "logistic" in r:
        spikes = ", ".join(f"{n} {100 * r[f'logistic_windows_{n}']:.1f} %"
                           for n in ("rate", "bsa", "delta"))
        text += (f", logistic {100 * r['logistic']:.1f} %; 5-window logistic: features "
                 f"{100 * r['logistic_windows_features']:.1f} %, spikes {spikes}")
    return text + f" ({r['train']} train / {r['test']} test, {r['device']}, {r['seconds']} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", metavar="FILE", help="dataset files")
    parser.add_argument("--out", default="build/bench/reference_models.json", metavar="FILE",
                        help="JSON result (rewritten after each dataset)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed")
    parser.add_argument("--epochs", type=int, default=15, metavar="N",
                        help="GRU epochs (0: no GRU)")
    parser.add_argument("--hidden", type=int, default=128, metavar="N", help="GRU units")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="where the GRU trains")
    parser.add_argument("--threads", type=int, default=2, metavar="N", help="torch threads")
    parser.add_argument("--only", choices=("all", "gru"), default="all",
                        help="gru: skip the logistic models")
    parser.add_argument("--gru-input", choices=("features", "spikes"), default="features",
                        help="what the GRU reads: the front-end frames (the bar of issue 5) "
                             "or the spike trains the SNN reads")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    results = []
    for path in args.datasets:
        results.append(evaluate(path, args.seed, args.epochs, args.hidden, args.device,
                                args.only == "gru", args.gru_input))
        print(summary(results[-1]), flush=True)
        write_json(args.out, {"benchmark": "reference_models", "results": results}, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
