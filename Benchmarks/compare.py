"""The work of ember-bench in PyTorch and NumPy, timed the same way; prints JSON for ember-bench.

usage: python compare.py --suites seed,sgemm,elementwise,reduction,indexing,overhead,memory
       python compare.py --serve-seed   (the seed steps on request, for ember-bench's seed rounds)
Case names match Benchmarks/ember-bench/Suites.swift so ember-bench can print ratios.
"""
import argparse, json, resource, statistics, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--suites", default="seed,sgemm,elementwise,reduction,indexing,overhead,memory")
parser.add_argument("--serve-seed", action="store_true")
arguments = parser.parse_args()
suites = set(arguments.suites.split(","))

import numpy as np
try:
    import torch
except ImportError:
    torch = None


def median(body, repeats=5, iterations=1):
    body()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            body()
        samples.append((time.perf_counter() - start) / iterations)
    return statistics.median(samples)


pytorch, numpy_results = {}, {}

if "seed" in suites or arguments.serve_seed:
    N, D_in, H, D_out = 64, 1000, 100, 10

    if torch is not None:
        class MyReLU(torch.autograd.Function):
            @staticmethod
            def forward(ctx, input):
                ctx.save_for_backward(input)
                return input.clamp(min=0)

            @staticmethod
            def backward(ctx, grad_output):
                input, = ctx.saved_tensors
                grad = grad_output.clone()
                grad[input < 0] = 0
                return grad

        def seed_runner(program, steps=20):
            """Runs `steps` steps of one program on weights kept between calls, like ember-bench."""
            torch.manual_seed(0)
            x, y = torch.randn(N, D_in), torch.randn(N, D_out)
            grad = program != "manual"
            w1, w2 = torch.randn(D_in, H, requires_grad=grad), torch.randn(H, D_out, requires_grad=grad)
            lr = 1e-6

            def run():
                nonlocal w1, w2
                for _ in range(steps):
                    if program == "manual":
                        h = x.mm(w1); h_relu = h.clamp(min=0); y_pred = h_relu.mm(w2)
                        (y_pred - y).pow(2).sum()
                        grad_y_pred = 2.0 * (y_pred - y)
                        grad_w2 = h_relu.t().mm(grad_y_pred)
                        grad_h = grad_y_pred.mm(w2.t()).clone(); grad_h[h < 0] = 0
                        grad_w1 = x.t().mm(grad_h)
                        w1 -= lr * grad_w1; w2 -= lr * grad_w2
                    else:
                        hidden = MyReLU.apply(x.mm(w1)) if program == "custom" else x.mm(w1).clamp(min=0)
                        loss = (hidden.mm(w2) - y).pow(2).sum()
                        loss.backward()
                        w1.data -= lr * w1.grad.data; w2.data -= lr * w2.grad.data
                        w1.grad.data.zero_(); w2.grad.data.zero_()
            return run

    def numpy_runner(steps=20):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((N, D_in), dtype=np.float32); y = rng.standard_normal((N, D_out), dtype=np.float32)
        w1 = rng.standard_normal((D_in, H), dtype=np.float32); w2 = rng.standard_normal((H, D_out), dtype=np.float32)
        lr = np.float32(1e-6)

        def run():
            nonlocal w1, w2
            for _ in range(steps):
                h = x @ w1; h_relu = np.maximum(h, 0); y_pred = h_relu @ w2
                np.square(y_pred - y).sum()
                grad_y_pred = 2.0 * (y_pred - y)
                grad_w2 = h_relu.T @ grad_y_pred
                grad_h = (grad_y_pred @ w2.T).copy(); grad_h[h < 0] = 0
                grad_w1 = x.T @ grad_h
                w1 -= lr * grad_w1; w2 -= lr * grad_w2
        return run

    def interleaved(runners, rounds=15, steps=20):
        """Median seconds per step of each runner, timed in turn round after round as ember-bench
        times its programs. NumPy runs in its own rounds: its BLAS threads spin after each
        product and would slow PyTorch's threads if the two alternated."""
        samples = {name: [] for name in runners}
        for run in runners.values():
            run()
        for _ in range(rounds):
            for name, run in runners.items():
                start = time.perf_counter()
                run()
                samples[name].append((time.perf_counter() - start) / steps)
        return {name: statistics.median(times) for name, times in samples.items()}

    def serve_seed(steps=20):
        """Answers each line of input ("pytorch manual", "numpy manual") with the seconds per step
        of `steps` steps of that program, after `steps` untimed ones, so that ember-bench can
        alternate its seed rounds with these and both sides of a ratio see the same moment of a
        shared host."""
        runners = {("numpy", "manual"): numpy_runner(steps)}
        if torch is not None:
            runners.update({("pytorch", p): seed_runner(p, steps) for p in ["manual", "autograd", "custom"]})
        print(json.dumps({"cases": [" ".join(case) for case in runners]}), flush=True)
        for line in sys.stdin:
            run = runners[tuple(line.split())]
            run()
            start = time.perf_counter()
            run()
            print((time.perf_counter() - start) / steps, flush=True)

    if arguments.serve_seed:
        serve_seed()
        sys.exit(0)
    if torch is not None:
        pytorch.update(interleaved({f"seed {p} step": seed_runner(p) for p in ["manual", "autograd", "custom"]}))
    numpy_results.update(interleaved({"seed manual step": numpy_runner()}))

if "sgemm" in suites:
    for n in [64, 128, 256, 512, 1024, 2048]:
        iterations = 20 if n <= 256 else 1
        repeats = 3 if n >= 1024 else 7
        if torch is not None:
            a, b = torch.randn(n, n), torch.randn(n, n)
            pytorch[f"sgemm {n}"] = median(lambda: a.mm(b), repeats, iterations)
        an, bn = np.random.standard_normal((n, n)).astype(np.float32), np.random.standard_normal((n, n)).astype(np.float32)
        numpy_results[f"sgemm {n}"] = median(lambda: an @ bn, repeats, iterations)
    if torch is not None:
        x, w1, g = torch.randn(64, 1000), torch.randn(1000, 100), torch.randn(64, 100)
        gy, w2 = torch.randn(64, 10), torch.randn(100, 10)
        pytorch["sgemm seed x·w1 64x1000x100"] = median(lambda: x.mm(w1), 7, 20)
        pytorch["sgemm seed xT·g 1000x64x100"] = median(lambda: x.t().mm(g), 7, 20)
        pytorch["sgemm seed g·w2T 64x10x100"] = median(lambda: gy.mm(w2.t()), 7, 20)

if "elementwise" in suites:
    for count in [1 << 10, 1 << 16, 1 << 20, 1 << 24]:
        label = f"{count >> 20}M" if count >= 1 << 20 else f"{count >> 10}K"
        iterations = max(1, (1 << 22) // count)
        an, bn = np.random.standard_normal(count).astype(np.float32), np.random.standard_normal(count).astype(np.float32)
        cn = np.empty_like(an)
        numpy_cases = {"add": lambda: an + bn, "mul": lambda: an * bn, "exp": lambda: np.exp(an),
                       "relu": lambda: np.maximum(an, 0), "clamp": lambda: np.clip(an, -0.5, 0.5),
                       "add_ in place": lambda: np.add(an, bn, out=an), "copy_": lambda: np.copyto(cn, an)}
        for name, body in numpy_cases.items():
            numpy_results[f"{name} {label}"] = median(body, 5, iterations)
        if torch is not None:
            a, b, c = torch.randn(count), torch.randn(count), torch.empty(count)
            cases = {"add": lambda: a + b, "mul": lambda: a * b, "exp": lambda: a.exp(), "relu": lambda: a.relu(),
                     "clamp": lambda: a.clamp(-0.5, 0.5), "add_ in place": lambda: a.add_(b), "copy_": lambda: c.copy_(a)}
            for name, body in cases.items():
                pytorch[f"{name} {label}"] = median(body, 5, iterations)

if "reduction" in suites:
    for count in [1 << 16, 1 << 24]:
        label = f"{count >> 20}M" if count >= 1 << 20 else f"{count >> 10}K"
        iterations = max(1, (1 << 22) // count)
        an = np.random.standard_normal(count).astype(np.float32)
        numpy_results[f"sum {label}"] = median(lambda: an.sum(), 5, iterations)
        numpy_results[f"max {label}"] = median(lambda: an.max(), 5, iterations)
        if torch is not None:
            a = torch.randn(count)
            pytorch[f"sum {label}"] = median(lambda: a.sum(), 5, iterations)
            pytorch[f"max {label}"] = median(lambda: a.max(), 5, iterations)
    logits_n = np.random.standard_normal((4096, 1000)).astype(np.float32)
    numpy_results["sum dim 0 4096x1000"] = median(lambda: logits_n.sum(axis=0))
    numpy_results["sum dim 1 4096x1000"] = median(lambda: logits_n.sum(axis=1))
    numpy_results["max dim 1 4096x1000"] = median(lambda: (logits_n.max(axis=1), logits_n.argmax(axis=1)))
    if torch is not None:
        logits = torch.randn(4096, 1000)
        pytorch["sum dim 0 4096x1000"] = median(lambda: logits.sum(dim=0))
        pytorch["sum dim 1 4096x1000"] = median(lambda: logits.sum(dim=1))
        pytorch["max dim 1 4096x1000"] = median(lambda: logits.max(dim=1))
        pytorch["softmax 4096x1000"] = median(lambda: logits.softmax(dim=1))

if "indexing" in suites:
    rng = np.random.default_rng(3)
    table_n, source_n = rng.standard_normal((10_000, 64), np.float32), rng.standard_normal((4096, 64), np.float32)
    rows_n = rng.integers(0, 10_000, 4096)
    values_n = rng.standard_normal((4096, 1000), np.float32)
    mask_n = values_n > 0
    numpy_results["index_select 4096 rows"] = median(lambda: table_n[rows_n], 5, 20)
    numpy_results["index_add 4096 rows"] = median(lambda: np.add.at(table_n.copy(), rows_n, source_n), 5, 20)
    numpy_results["masked select 4096x1000"] = median(lambda: values_n[mask_n])
    numpy_results["nonzero 4096x1000"] = median(lambda: np.argwhere(mask_n))
    if torch is not None:
        table, source = torch.from_numpy(table_n), torch.from_numpy(source_n)
        rows, values = torch.from_numpy(rows_n), torch.from_numpy(values_n)
        mask = values > 0
        pytorch["index_select 4096 rows"] = median(lambda: table.index_select(0, rows), 5, 20)
        pytorch["index_add 4096 rows"] = median(lambda: table.index_add(0, rows, source), 5, 20)
        pytorch["masked select 4096x1000"] = median(lambda: values[mask])
        pytorch["nonzero 4096x1000"] = median(lambda: mask.nonzero())

if torch is not None and "overhead" in suites:
    s = torch.randn(10)
    def tiny():
        for _ in range(1000):
            s + s
    pytorch["tiny add forward (10 elements)"] = median(tiny, 15) / 1000
    w = torch.randn(10, requires_grad=True)
    def chain():
        z = w
        for _ in range(100):
            z = z * 1.0001
        z.sum().backward()
    pytorch["tiny mul fwd+bwd with grad"] = median(chain, 15) / 100

if torch is not None and "memory" in suites:
    pytorch["peak RSS (MB)"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6

versions = f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads), NumPy {np.__version__}" if torch is not None else f"NumPy {np.__version__}"
json.dump({"pytorch": pytorch, "numpy": numpy_results, "versions": versions}, sys.stdout)
