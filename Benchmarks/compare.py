"""The work of ember-bench in PyTorch and NumPy, timed the same way.

usage: python compare.py --suites seed,sgemm,...   times every case, prints JSON
       python compare.py --serve                   times one case per request line (ember-bench --compare)

In serving mode each line of input names a case ("elementwise|pytorch|add 1K"); the answer is its
median seconds, so that ember-bench times each of its cases and then PyTorch's, and both sides of
a ratio see the same moment of a shared host ("settle||" waits until BLAS threads stop spinning). Case names match
Benchmarks/ember-bench/Suites.swift.
"""
import argparse, json, resource, statistics, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--suites", default="seed,sgemm,elementwise,reduction,indexing,ops,backward,overhead,memory")
parser.add_argument("--serve", action="store_true")
arguments = parser.parse_args()

import numpy as np
try:
    import torch
except ImportError:
    torch = None


def median(body, repeats=5, iterations=1, restore=None):
    """As ember-bench's median: with `restore`, each iteration is timed alone, after it."""
    restored = body if restore is None else lambda: (restore(), body())
    restored()
    if arguments.serve:
        # 20 ms, as ember-bench warms up in turn: the other process's work has just run.
        end = time.perf_counter() + 0.02
        while time.perf_counter() < end:
            restored()
    samples = []
    for _ in range(repeats):
        if restore is None:
            start = time.perf_counter()
            for _ in range(iterations):
                body()
            samples.append((time.perf_counter() - start) / iterations)
        else:
            elapsed = 0
            for _ in range(iterations):
                restore()
                start = time.perf_counter_ns()
                body()
                elapsed += time.perf_counter_ns() - start
            samples.append(elapsed / 1e9 / iterations)
    return statistics.median(samples)


def timed(body, repeats=5, iterations=1, per=1, restore=None):
    """A case: a function that returns the median seconds of one `body` call divided by `per`."""
    return lambda: median(body, repeats, iterations, restore) / per


# MARK: Suites. Each returns {(library, case name): case}, building its tensors when called.

def seed_cases(steps=20):
    """One round of a program: 20 ms of untimed steps (at least `steps`), then `steps` timed
    ones, in seconds per step (the other side's work has just left the caches)."""
    N, D_in, H, D_out = 64, 1000, 100, 10
    cases = {}

    def round_of(run):
        def time_round():
            end = time.perf_counter() + 0.02
            run()
            while time.perf_counter() < end:
                run()
            start = time.perf_counter()
            run()
            return (time.perf_counter() - start) / steps
        return time_round

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

        def seed_runner(program):
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

        for program in ["manual", "autograd", "custom"]:
            cases[("pytorch", f"seed {program} step")] = round_of(seed_runner(program))

    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D_in), dtype=np.float32); y = rng.standard_normal((N, D_out), dtype=np.float32)
    w1 = rng.standard_normal((D_in, H), dtype=np.float32); w2 = rng.standard_normal((H, D_out), dtype=np.float32)
    lr = np.float32(1e-6)

    def numpy_run():
        nonlocal w1, w2
        for _ in range(steps):
            h = x @ w1; h_relu = np.maximum(h, 0); y_pred = h_relu @ w2
            np.square(y_pred - y).sum()
            grad_y_pred = 2.0 * (y_pred - y)
            grad_w2 = h_relu.T @ grad_y_pred
            grad_h = (grad_y_pred @ w2.T).copy(); grad_h[h < 0] = 0
            grad_w1 = x.T @ grad_h
            w1 -= lr * grad_w1; w2 -= lr * grad_w2
    cases[("numpy", "seed manual step")] = round_of(numpy_run)
    return cases


def sgemm_cases():
    cases = {}
    for n in [64, 128, 256, 512, 1024, 2048]:
        iterations = 20 if n <= 256 else 1
        repeats = 3 if n >= 1024 else 7
        if torch is not None:
            a, b = torch.randn(n, n), torch.randn(n, n)
            cases[("pytorch", f"sgemm {n}")] = timed(lambda a=a, b=b: a.mm(b), repeats, iterations)
        an, bn = np.random.standard_normal((n, n)).astype(np.float32), np.random.standard_normal((n, n)).astype(np.float32)
        cases[("numpy", f"sgemm {n}")] = timed(lambda an=an, bn=bn: an @ bn, repeats, iterations)
    if torch is not None:
        x, w1, g = torch.randn(64, 1000), torch.randn(1000, 100), torch.randn(64, 100)
        gy, w2, weight = torch.randn(64, 10), torch.randn(100, 10), torch.randn(100, 1000)
        cases[("pytorch", "sgemm seed x·w1 64x1000x100")] = timed(lambda: x.mm(w1), 7, 20)
        cases[("pytorch", "sgemm seed xT·g 1000x64x100")] = timed(lambda: x.t().mm(g), 7, 20)
        cases[("pytorch", "sgemm seed g·w2T 64x10x100")] = timed(lambda: gy.mm(w2.t()), 7, 20)
        cases[("pytorch", "sgemm linear x·WT 64x1000x100")] = timed(lambda: x.mm(weight.t()), 7, 20)
    return cases


def elementwise_cases():
    cases = {}
    for count in [1 << 10, 1 << 16, 1 << 20, 1 << 24]:
        label = f"{count >> 20}M" if count >= 1 << 20 else f"{count >> 10}K"
        iterations = max(1, (1 << 22) // count)
        an, bn = np.random.standard_normal(count).astype(np.float32), np.random.standard_normal(count).astype(np.float32)
        cn, dn, sn = np.empty_like(an), an.copy(), np.where(bn > 0, 1, -1).astype(np.float32)
        bodies = {"add": lambda an=an, bn=bn: an + bn, "mul": lambda an=an, bn=bn: an * bn, "exp": lambda an=an: np.exp(an),
                  "relu": lambda an=an: np.maximum(an, 0), "clamp": lambda an=an: np.clip(an, -0.5, 0.5),
                  "add_ in place": lambda an=an, bn=bn: np.add(an, bn, out=an),
                  "mul_ in place": lambda dn=dn, sn=sn: np.multiply(dn, sn, out=dn),
                  "relu_ in place": lambda dn=dn: np.maximum(dn, 0, out=dn),
                  "clamp_ in place": lambda dn=dn: np.clip(dn, -0.5, 0.5, out=dn),
                  "copy_": lambda an=an, cn=cn: np.copyto(cn, an)}
        for name, body in bodies.items():
            cases[("numpy", f"{name} {label}")] = timed(body, 5, iterations)
        # exp_ from the same input each time: repeated, it would reach +inf (see ember-bench).
        en, on = an.copy(), an.copy()
        cases[("numpy", f"exp_ in place {label}")] = timed(lambda en=en: np.exp(en, out=en), 5, iterations,
                                                           restore=lambda on=on, en=en: np.copyto(en, on))
        if torch is not None:
            a, b, c = torch.randn(count), torch.randn(count), torch.empty(count)
            d, signs = a.clone(), torch.where(b > 0, 1.0, -1.0)
            bodies = {"add": lambda a=a, b=b: a + b, "mul": lambda a=a, b=b: a * b, "exp": lambda a=a: a.exp(),
                      "relu": lambda a=a: a.relu(), "clamp": lambda a=a: a.clamp(-0.5, 0.5),
                      "add_ in place": lambda a=a, b=b: a.add_(b),
                      "add_ alpha in place": lambda a=a, b=b: a.add_(b, alpha=-1e-3),
                      "mul_ in place": lambda d=d, s=signs: d.mul_(s),
                      "relu_ in place": lambda d=d: d.relu_(),
                      "clamp_ in place": lambda d=d: d.clamp_(-0.5, 0.5), "copy_": lambda a=a, c=c: c.copy_(a)}
            for name, body in bodies.items():
                cases[("pytorch", f"{name} {label}")] = timed(body, 5, iterations)
            e, original = a.clone(), a.clone()
            cases[("pytorch", f"exp_ in place {label}")] = timed(lambda e=e: e.exp_(), 5, iterations,
                                                                 restore=lambda o=original, e=e: e.copy_(o))
    return cases


def reduction_cases():
    cases = {}
    for count in [1 << 16, 1 << 24]:
        label = f"{count >> 20}M" if count >= 1 << 20 else f"{count >> 10}K"
        iterations = max(1, (1 << 22) // count)
        an = np.random.standard_normal(count).astype(np.float32)
        cases[("numpy", f"sum {label}")] = timed(lambda an=an: an.sum(), 5, iterations)
        cases[("numpy", f"max {label}")] = timed(lambda an=an: an.max(), 5, iterations)
        if torch is not None:
            a = torch.randn(count)
            cases[("pytorch", f"sum {label}")] = timed(lambda a=a: a.sum(), 5, iterations)
            cases[("pytorch", f"max {label}")] = timed(lambda a=a: a.max(), 5, iterations)
    logits_n = np.random.standard_normal((4096, 1000)).astype(np.float32)
    cases[("numpy", "sum dim 0 4096x1000")] = timed(lambda: logits_n.sum(axis=0))
    cases[("numpy", "sum dim 1 4096x1000")] = timed(lambda: logits_n.sum(axis=1))
    cases[("numpy", "max dim 1 4096x1000")] = timed(lambda: (logits_n.max(axis=1), logits_n.argmax(axis=1)))
    if torch is not None:
        logits = torch.randn(4096, 1000)
        cases[("pytorch", "sum dim 0 4096x1000")] = timed(lambda: logits.sum(dim=0))
        cases[("pytorch", "sum dim 1 4096x1000")] = timed(lambda: logits.sum(dim=1))
        cases[("pytorch", "max dim 1 4096x1000")] = timed(lambda: logits.max(dim=1))
        cases[("pytorch", "softmax 4096x1000")] = timed(lambda: logits.softmax(dim=1))
    return cases


def indexing_cases():
    cases = {}
    rng = np.random.default_rng(3)
    table_n, source_n = rng.standard_normal((10_000, 64), np.float32), rng.standard_normal((4096, 64), np.float32)
    rows_n = rng.integers(0, 10_000, 4096)
    values_n = rng.standard_normal((4096, 1000), np.float32)
    mask_n = values_n > 0
    cases[("numpy", "index_select 4096 rows")] = timed(lambda: table_n[rows_n], 5, 20)
    cases[("numpy", "index_add 4096 rows")] = timed(lambda: np.add.at(table_n.copy(), rows_n, source_n), 5, 20)
    cases[("numpy", "masked select 4096x1000")] = timed(lambda: values_n[mask_n])
    cases[("numpy", "nonzero 4096x1000")] = timed(lambda: np.argwhere(mask_n))
    if torch is not None:
        table, source = torch.from_numpy(table_n), torch.from_numpy(source_n)
        rows, values = torch.from_numpy(rows_n), torch.from_numpy(values_n)
        mask = values > 0
        cases[("pytorch", "index_select 4096 rows")] = timed(lambda: table.index_select(0, rows), 5, 20)
        cases[("pytorch", "index_add 4096 rows")] = timed(lambda: table.index_add(0, rows, source), 5, 20)
        cases[("pytorch", "masked select 4096x1000")] = timed(lambda: values[mask])
        cases[("pytorch", "nonzero 4096x1000")] = timed(lambda: mask.nonzero())
    return cases


def ops_cases():
    cases = {}
    rng = np.random.default_rng(5)
    million_n = rng.standard_normal(1 << 20, np.float32)
    left_n, right_n = rng.standard_normal((32, 64, 64), np.float32), rng.standard_normal((32, 64, 64), np.float32)
    cube_n, block_n = rng.standard_normal((64, 128, 128), np.float32), rng.standard_normal((64, 256, 256), np.float32)
    logits_n = rng.standard_normal((4096, 1000), np.float32)
    picks_n = rng.integers(0, 1000, (4096, 10))
    column_n, row_n = rng.standard_normal((1000, 1), np.float32), rng.standard_normal((1, 1000), np.float32)
    positive_n = np.abs(million_n)
    cases[("numpy", "randn 1M")] = timed(lambda: rng.standard_normal(1 << 20, np.float32))
    cases[("numpy", "bmm 32x64x64")] = timed(lambda: np.matmul(left_n, right_n), 5, 20)
    cases[("numpy", "sum dim 1 of 64x128x128")] = timed(lambda: cube_n.sum(axis=1), 5, 5)
    cases[("numpy", "sum dim 2 of 64x128x128")] = timed(lambda: cube_n.sum(axis=2), 5, 5)
    cases[("numpy", "to float16 1M")] = timed(lambda: million_n.astype(np.float16), 5, 5)
    cases[("numpy", "gather 10 of 1000 per row, 4096 rows")] = timed(lambda: np.take_along_axis(logits_n, picks_n, 1), 5, 5)
    cases[("numpy", "sqrt 1M")] = timed(lambda: np.sqrt(positive_n), 5, 5)
    cases[("numpy", "sin 1M")] = timed(lambda: np.sin(million_n), 5, 5)
    cases[("numpy", "permute 0,2,1 contiguous 64x256x256")] = timed(lambda: np.ascontiguousarray(block_n.transpose(0, 2, 1)))
    cases[("numpy", "var dim 1 4096x1000")] = timed(lambda: logits_n.var(axis=1, ddof=1))
    cases[("numpy", "column + row 1000x1000")] = timed(lambda: column_n + row_n, 5, 5)
    matrix_n, vector_n = rng.standard_normal((4096, 1024), np.float32), rng.standard_normal(1024, np.float32)
    factors_n = (logits_n * np.float32(0.01) + np.float32(1)).astype(np.float32)
    cases[("numpy", "mv 4096x1024")] = timed(lambda: matrix_n @ vector_n, 5, 5)
    cases[("numpy", "prod dim 1 4096x1000")] = timed(lambda: factors_n.prod(axis=1))
    if torch is not None:
        # PyTorch's own allocations (64-byte aligned, as Ember's are), not views of NumPy's arrays.
        million, left, right = torch.randn(1 << 20), torch.randn(32, 64, 64), torch.randn(32, 64, 64)
        cube, block, logits = torch.randn(64, 128, 128), torch.randn(64, 256, 256), torch.randn(4096, 1000)
        picks, positive = torch.randint(0, 1000, (4096, 10)), million.abs()
        cases[("pytorch", "randn 1M")] = timed(lambda: torch.randn(1 << 20))
        cases[("pytorch", "bmm 32x64x64")] = timed(lambda: left.bmm(right), 5, 20)
        cases[("pytorch", "sum dim 1 of 64x128x128")] = timed(lambda: cube.sum(dim=1), 5, 5)
        cases[("pytorch", "sum dim 2 of 64x128x128")] = timed(lambda: cube.sum(dim=2), 5, 5)
        cases[("pytorch", "to float16 1M")] = timed(lambda: million.to(torch.float16), 5, 5)
        cases[("pytorch", "gather 10 of 1000 per row, 4096 rows")] = timed(lambda: logits.gather(1, picks), 5, 5)
        cases[("pytorch", "sqrt 1M")] = timed(lambda: positive.sqrt(), 5, 5)
        cases[("pytorch", "sin 1M")] = timed(lambda: million.sin(), 5, 5)
        cases[("pytorch", "log_softmax 4096x1000")] = timed(lambda: logits.log_softmax(dim=1))
        cases[("pytorch", "permute 0,2,1 contiguous 64x256x256")] = timed(lambda: block.permute(0, 2, 1).contiguous())
        column, row = torch.randn(1000, 1), torch.randn(1, 1000)
        cases[("pytorch", "logsumexp dim 1 4096x1000")] = timed(lambda: logits.logsumexp(dim=1))
        cases[("pytorch", "var dim 1 4096x1000")] = timed(lambda: logits.var(dim=1))
        cases[("pytorch", "column + row 1000x1000")] = timed(lambda: column + row, 5, 5)
        matrix, vector, factors = torch.randn(4096, 1024), torch.randn(1024), logits * 0.01 + 1
        cases[("pytorch", "mv 4096x1024")] = timed(lambda: matrix.mv(vector), 5, 5)
        cases[("pytorch", "prod dim 1 4096x1000")] = timed(lambda: factors.prod(dim=1))
    return cases


def backward_cases():
    """Each op forward and backward from a leaf with a given gradient, the leaf's grad reset to
    None after each, as ember-bench's backward suite."""
    if torch is None:
        return {}
    def leaf(*shape):
        return torch.randn(*shape, requires_grad=True)
    million, logits, halves = leaf(1 << 20), leaf(4096, 1000), [leaf(2048, 1000), leaf(2048, 1000)]
    picks, rows = torch.randint(0, 1000, (4096, 10)), torch.randint(0, 4096, (4096,))

    def case(leaves, forward):
        with torch.no_grad():
            gradient = torch.randn(forward().shape)

        def run():
            forward().backward(gradient)
            for tensor in leaves:
                tensor.grad = None
        return timed(run, 5, 3)
    return {("pytorch", name): case(leaves, forward) for name, leaves, forward in [
        ("tanh fwd+bwd 1M", [million], lambda: million.tanh()),
        ("sigmoid fwd+bwd 1M", [million], lambda: million.sigmoid()),
        ("sum dim 1 fwd+bwd 4096x1000", [logits], lambda: logits.sum(dim=1)),
        ("max dim 1 fwd+bwd 4096x1000", [logits], lambda: logits.max(dim=1).values),
        ("softmax fwd+bwd 4096x1000", [logits], lambda: logits.softmax(dim=1)),
        ("log_softmax fwd+bwd 4096x1000", [logits], lambda: logits.log_softmax(dim=1)),
        ("gather fwd+bwd 10 of 1000 per row, 4096 rows", [logits], lambda: logits.gather(1, picks)),
        ("index_select fwd+bwd 4096 rows of 4096x1000", [logits], lambda: logits.index_select(0, rows)),
        ("narrow fwd+bwd 500 of 1000 columns", [logits], lambda: logits.narrow(1, 100, 500)),
        ("cat fwd+bwd 2x2048x1000", halves, lambda: torch.cat(halves, 0)),
    ]}


def overhead_cases():
    if torch is None:
        return {}
    s = torch.randn(10)

    def tiny():
        for _ in range(1000):
            s + s
    w = torch.randn(10, requires_grad=True)

    def chain():
        z = w
        for _ in range(100):
            z = z * 1.0001
        z.sum().backward()
    return {("pytorch", "tiny add forward (10 elements)"): timed(tiny, 15, per=1000),
            ("pytorch", "tiny mul fwd+bwd with grad"): timed(chain, 15, per=100)}


def memory_cases():
    """The process's peak resident memory after the suites before it, in MB."""
    if torch is None:
        return {}
    return {("pytorch", "peak RSS (MB)"): lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6}


suites = {"seed": seed_cases, "sgemm": sgemm_cases, "elementwise": elementwise_cases, "reduction": reduction_cases,
          "indexing": indexing_cases, "ops": ops_cases, "backward": backward_cases, "overhead": overhead_cases,
          "memory": memory_cases}
versions = f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads), NumPy {np.__version__}" if torch is not None else f"NumPy {np.__version__}"

if arguments.serve:
    # One suite's tensors at a time, as in a whole run, so that peak memory compares.
    print(json.dumps({"versions": versions, "pytorch": torch is not None}), flush=True)
    current, cases = None, {}
    for line in sys.stdin:
        suite, library, name = line.rstrip("\n").split("|")
        if suite == "settle":
            time.sleep(0.2)  # until OpenBLAS's and OpenMP's threads stop spinning
            print(flush=True)
            continue
        if suite != current:
            current, cases = suite, {}
            cases = suites[suite]() if suite in suites else {}
        case = cases.get((library, name))
        seconds = case() if case else ""
        time.sleep(0.015)  # until OpenMP's threads stop spinning (~10 ms), which would slow Ember's next case
        print(seconds, flush=True)
else:
    results = {"pytorch": {}, "numpy": {}}
    for suite in arguments.suites.split(","):
        for (library, name), case in suites.get(suite, dict)().items():
            results[library][name] = statistics.median(case() for _ in range(15)) if suite == "seed" else case()
    json.dump({**results, "versions": versions}, sys.stdout)
