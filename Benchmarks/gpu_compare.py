"""PyTorch's timings for ember-gpu-check's cases on the same GPU, beside Ember's.

usage: python gpu_compare.py EMBER_JSON   (ember-gpu-check --json EMBER_JSON writes it)
Prints a Markdown table: case, Ember, PyTorch, Ember/PyTorch time. Timed as ember-gpu-check
times: the median of 7 synchronized samples.
"""
import json, statistics, sys, time

import torch

ember = json.load(open(sys.argv[1]))["timings"]
gpu = torch.device("cuda:0")
torch.backends.cuda.matmul.allow_tf32 = False  # Ember's default too
# Ember's half products add in float32 all the way (no split-K reductions in half).
torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False


def timed(iterations, body, host_only=False):
    """host_only stops each sample's clock before waiting for the GPU: the host's time to issue."""
    body()
    torch.cuda.synchronize()
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(iterations):
            body()
        if not host_only:
            torch.cuda.synchronize()
        samples.append((time.perf_counter() - start) / iterations)
        torch.cuda.synchronize()
    return statistics.median(samples)


x, y = torch.randn(64, 1000, device=gpu), torch.randn(64, 10, device=gpu)
w1 = torch.randn(1000, 100, device=gpu, requires_grad=True)
w2 = torch.randn(100, 10, device=gpu, requires_grad=True)


def seed_step():
    loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        w1.sub_(1e-6 * w1.grad)
        w2.sub_(1e-6 * w2.grad)
        w1.grad.zero_()
        w2.grad.zero_()


a, b = torch.randn(4096, 4096, device=gpu), torch.randn(4096, 4096, device=gpu)
half_a, half_b = a.half(), b.half()
batch, batch_other = torch.randn(64, 256, 256, device=gpu), torch.randn(64, 256, 256, device=gpu)
logits, long_logits = torch.randn(4096, 1000, device=gpu), torch.randn(4096, 1030, device=gpu)
big, other = torch.randn(1 << 28, device=gpu), torch.randn(1 << 28, device=gpu)
tiny = torch.randn(10, device=gpu)
pytorch = {
    "seed autograd step": timed(50, seed_step),
    "seed autograd step, host": timed(20, seed_step, host_only=True),
    "add of 10 elements": timed(200, lambda: tiny + tiny),
    "add of 10 elements, host": timed(200, lambda: tiny + tiny, host_only=True),
    "sgemm 4096": timed(10, lambda: a.mm(b)),
    "hgemm 4096": timed(20, lambda: half_a.mm(half_b)),
    "bmm 64x256x256": timed(20, lambda: batch.bmm(batch_other)),
    "softmax 4096x1000": timed(20, lambda: logits.softmax(dim=1)),
    "softmax 4096x1030": timed(20, lambda: long_logits.softmax(dim=1)),
    "add 256M": timed(5, lambda: big + other),
    "copy_ 256M": timed(5, lambda: big.copy_(other)),
    "exp 256M": timed(5, lambda: big.exp()),
    "sum 256M": timed(5, lambda: big.sum()),
}
work = {"sgemm 4096": (2 * 4096**3, "TFLOP/s", 1e12), "hgemm 4096": (2 * 4096**3, "TFLOP/s", 1e12),
        "bmm 64x256x256": (2 * 64 * 256**3, "TFLOP/s", 1e12), "softmax 4096x1000": (8 * 4096 * 1000, "GB/s", 1e9),
        "softmax 4096x1030": (8 * 4096 * 1030, "GB/s", 1e9),
        "add 256M": (12 * (1 << 28), "GB/s", 1e9), "copy_ 256M": (8 * (1 << 28), "GB/s", 1e9),
        "exp 256M": (8 * (1 << 28), "GB/s", 1e9), "sum 256M": (4 * (1 << 28), "GB/s", 1e9)}

print(f"GPU: {torch.cuda.get_device_name(0)}, PyTorch {torch.__version__}, CUDA {torch.version.cuda}\n")
print("| case | Ember | PyTorch | Ember/PyTorch time |")
print("|---|---|---|---|")
for case, theirs in pytorch.items():
    ours = ember.get(case)
    def show(seconds):
        if case in work:
            amount, unit, scale = work[case]
            return f"{seconds * 1e6:.1f} µs ({amount / seconds / scale:.1f} {unit})"
        return f"{seconds * 1e6:.1f} µs"
    print(f"| {case} | {show(ours) if ours else '–'} | {show(theirs)} | {ours / theirs:.2f}× |" if ours else f"| {case} | – | {show(theirs)} | – |")
