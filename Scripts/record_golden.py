#!/usr/bin/env python3
"""Record PyTorch golden fixtures for Ember's Swift tests.

Run from the repository root with a Python that has torch installed (CPU is enough):

    python3 -m venv /work/venv && /work/venv/bin/pip install torch numpy
    /work/venv/bin/python Scripts/record_golden.py

It (re)writes five JSON files into Tests/EmberTests/Fixtures/:

  ops_forward.json   forward values for every dtype, type promotion, ops with arguments
  promotion.json     torch.result_type for all pairs of the 10 dtypes
  errors.json        exact exception types and messages torch gives for common misuse
  grads_extra.json   float64 backward cases (same schema as ops.json)
  grads_float32.json float32 backward cases in grads_extra.json's schema, compared bit for bit

Encoding (shared by every file)
-------------------------------
* A tensor is {"shape": [...], "dtype": "float32", "values": [...]} with values flattened in
  row-major order. bool values are JSON true/false, integer values JSON integers, floating values
  JSON numbers (float16/bfloat16/float32 values are the exact value of the element, written as the
  shortest double that round-trips). NaN is written as null and +/-infinity as the strings
  "inf" / "-inf". -0.0 is written as -0.0.
* dtype names are torch's without the "torch." prefix: float32 float64 float16 bfloat16 int64
  int32 int16 int8 uint8 bool.
* A Python scalar operand, where its Python type matters for type promotion, is written as
  {"scalar": 2.5, "type": "float"} with type one of "int", "float", "bool".
* Non-scalar arguments (dims, sizes, keepdim, dtype names, ...) are plain JSON values; tensors
  used as arguments (masks, indices, conditions) are tensor objects.

ops_forward.json: a list of cases
  {"id": unique name, "op": torch op name (what the Swift test dispatches on),
   "expr": the Python expression that was evaluated (inputs are named a, b, c; every key of
           `args` is a Python variable of that name holding the decoded argument),
   "args": {...}, "inputs": [tensor, ...],
   "output": tensor                      (single result), or
   "outputs": [tensor, ...]              (ops that return several tensors: max/min with dim give
                                          [values, indices]; split/chunk give the pieces), or
   "error": {"type": ..., "message": ...} (torch refused; only in the dtype grids),
   "note": optional remark}
  Scalar-on-the-left forms (2.5 - t, 2 ** t, ...) use op names radd/rsub/rmul/rdiv/rpow with the
  scalar in args.other.

promotion.json: {"dtypes": [...], "cases": [{"lhs_kind", "lhs", "rhs_kind", "rhs", "result"}]}
  kinds: "tensor" (1-d tensor), "zerodim" (0-d tensor), "scalar" (Python scalar; lhs/rhs is then
  "int", "float" or "bool"). result is the dtype name given by torch.result_type.

errors.json: a list of {"id", "expr" (Python code that was exec'd), "type" (exception class name),
  "message" (str(exception), exactly)}. Where torch raised nothing, type and message are null.

grads_extra.json: a list of float64 cases in ops.json's schema
  {"id", "op" (torch op name; ops.json uses a case name here, so use "id" to tell cases apart),
   "expr", "args", "inputs" (only the tensors that require grad, named a, b, ... in expr),
   "output", "cotangent", "grads" (one per input, d<output, cotangent>/d input), "grad_fn"
   (name of output.grad_fn)}
  Multi-output cases (split, chunk) have "outputs"/"cotangents" lists instead of
  "output"/"cotangent" and the gradient of sum_i <outputs[i], cotangents[i]>; "grad_fn" is that
  of outputs[0]. min/max with dim record the values as "output" and the indices under "indices".
  Cases with double backward also have "second_cotangent" (one tensor per input) and
  "grad_grads": d<grads, second_cotangent>/d inputs, with the first cotangent held fixed.
"""

import json
import math
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "Tests" / "EmberTests" / "Fixtures"

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "int32": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
FLOATS = ["float32", "float64", "float16", "bfloat16"]


def dname(dtype):
    return str(dtype).replace("torch.", "")


# ----------------------------------------------------------------------------------------------
# Encoding


def num(v):
    if isinstance(v, bool) or isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    raise TypeError(f"not a number: {v!r}")


def tj(t):
    t = t.detach().cpu()
    return {"shape": list(t.shape), "dtype": dname(t.dtype),
            "values": [num(v) for v in t.reshape(-1).tolist()]}


class S:
    """A Python scalar operand whose Python type must be recorded."""

    def __init__(self, value):
        self.value = value


def enc_arg(a):
    if isinstance(a, torch.Tensor):
        return tj(a)
    if isinstance(a, torch.dtype):
        return dname(a)
    if isinstance(a, S):
        return {"scalar": num(a.value), "type": type(a.value).__name__}
    if isinstance(a, (list, tuple)):
        return [enc_arg(x) for x in a]
    if isinstance(a, float):
        return num(a)
    return a


def dec_arg(a):
    return a.value if isinstance(a, S) else a


def write_json(name, data):
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / name
    if isinstance(data, list):
        text = "[\n" + ",\n".join(
            json.dumps(c, allow_nan=False, separators=(",", ":")) for c in data) + "\n]\n"
    else:  # {"...": ..., "cases": [...]}: one case per line
        head = {k: v for k, v in data.items() if k != "cases"}
        text = json.dumps(head, allow_nan=False)[:-1] + ', "cases": [\n' + ",\n".join(
            json.dumps(c, allow_nan=False, separators=(",", ":")) for c in data["cases"]) + "\n]}\n"
    path.write_text(text)
    json.loads(path.read_text())  # sanity check
    return path, len(text)


# ----------------------------------------------------------------------------------------------
# Value helpers


def T(values, dtype="float32", shape=None):
    t = torch.tensor(values, dtype=DTYPES[dtype])
    return t.reshape(shape) if shape is not None else t


def quarters(shape, gen, lo=-12, hi=13, dtype="float32"):
    """Multiples of 0.25 in [lo/4, hi/4): exact in every float dtype and under sums."""
    return (torch.randint(lo, hi, shape, generator=gen).to(torch.float64) / 4).to(DTYPES[dtype])


def ints(shape, gen, lo=-3, hi=4, dtype="float32"):
    return torch.randint(lo, hi, shape, generator=gen).to(DTYPES[dtype])


# ----------------------------------------------------------------------------------------------
# ops_forward.json


class Forward:
    def __init__(self):
        self.cases = []
        self.ids = set()

    def add(self, id, op, expr, inputs=(), args=None, note=None, allow_error=False):
        assert id not in self.ids, id
        self.ids.add(id)
        args = args or {}
        inputs = list(inputs)
        env = {"torch": torch}
        for name, t in zip("abcdefgh", inputs):
            env[name] = t
        for k, v in args.items():
            env[k] = dec_arg(v)
        case = {"id": id, "op": op, "expr": expr, "args": {k: enc_arg(v) for k, v in args.items()},
                "inputs": [tj(t) for t in inputs]}
        try:
            result = eval(expr, env)
        except Exception as e:  # noqa: BLE001
            if not allow_error:
                raise
            case["error"] = {"type": type(e).__name__, "message": str(e)}
        else:
            if isinstance(result, torch.Tensor):
                case["output"] = tj(result)
            else:
                case["outputs"] = [tj(r) for r in result]
        if note:
            case["note"] = note
        self.cases.append(case)


BIN_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


def lhs_values(d):
    if d in FLOATS:
        return [1.5, -2.25, 0.0, 7.0]
    if d == "uint8":
        return [7, 3, 0, 200]
    if d == "bool":
        return [True, False, True, False]
    return [7, -3, 0, 100]


def rhs_values(d):
    if d in FLOATS:
        return [0.5, 4.0, -3.0, 2.0]
    if d == "uint8":
        return [2, 5, 4, 100]
    if d == "bool":
        return [True, True, False, False]
    return [2, 5, -4, 100]


def record_forward():
    F = Forward()
    g = torch.Generator().manual_seed(20240601)

    # --- binary arithmetic between every pair of dtypes (1-d tensors of 4 elements) -----------
    # int8/uint8 values overflow on purpose (100+100 in int8, 200+100 in uint8): results wrap.
    # The bool rhs has False entries, so div records x/0 -> inf and 0/0 -> nan.
    for op, sym in BIN_SYMBOL.items():
        for da in DTYPES:
            for db in DTYPES:
                F.add(f"{op}_{da}_{db}", op, f"a {sym} b",
                      [T(lhs_values(da), da), T(rhs_values(db), db)], allow_error=True)

    # --- tensor (op) python scalar, every dtype ------------------------------------------------
    for d in DTYPES:
        for s in (S(2), S(2.5), S(True)):
            for op, sym in BIN_SYMBOL.items():
                F.add(f"{op}_{d}_scalar_{type(s.value).__name__}", op, f"a {sym} other",
                      [T(lhs_values(d), d)], {"other": s}, allow_error=True)
    for d in ["float32", "float16", "bfloat16", "int64", "int8", "uint8", "bool"]:
        for s in (S(3), S(2.5)):
            for op, sym in (("rsub", "-"), ("rdiv", "/")):
                F.add(f"{op}_{d}_scalar_{type(s.value).__name__}", op, f"other {sym} a",
                      [T(rhs_values(d), d)], {"other": s}, allow_error=True)
    # out-of-range integer scalars wrap into the tensor's dtype
    F.add("sub_uint8_scalar_300", "sub", "a - other", [T([1, 2, 3, 250], "uint8")], {"other": S(300)},
          note="result stays uint8; 300 is taken modulo 256")
    F.add("add_int8_scalar_1000", "add", "a + other", [T([1, -2, 100], "int8")], {"other": S(1000)})
    F.add("add_int32_scalar_float_big", "add", "a + other", [T([1, 2], "int32")], {"other": S(1e10)})
    F.add("mul_float16_scalar_overflow", "mul", "a * other", [T([1.0, 300.0, -300.0], "float16")],
          {"other": S(1000)}, note="float16 overflow to inf")
    F.add("add_alpha", "add", "torch.add(a, b, alpha=alpha)", [T([1.0, 2.0]), T([0.5, -1.0])],
          {"alpha": S(3)})
    F.add("sub_alpha", "sub", "torch.sub(a, b, alpha=alpha)", [T([1, 2], "int64"), T([5, -1], "int64")],
          {"alpha": S(2)})
    F.add("div_floor_int", "div", "torch.div(a, b, rounding_mode=rounding_mode)",
          [T([7, -7, 7, -7, 0], "int64"), T([2, 2, -2, -2, 3], "int64")], {"rounding_mode": "floor"})
    F.add("div_trunc_int", "div", "torch.div(a, b, rounding_mode=rounding_mode)",
          [T([7, -7, 7, -7, 0], "int64"), T([2, 2, -2, -2, 3], "int64")], {"rounding_mode": "trunc"})
    F.add("div_floor_float", "div", "torch.div(a, b, rounding_mode=rounding_mode)",
          [T([7.5, -7.5, 1.0, -0.0]), T([2.0, 2.0, 0.0, 1.0])], {"rounding_mode": "floor"})

    # --- zero-dim tensors against dimensioned tensors ------------------------------------------
    zero_dim_pairs = [
        ("float32", 1.5, "int64"), ("float64", 1.5, "float32"), ("float64", 1.5, "int32"),
        ("int64", 3, "int8"), ("int64", 3, "float16"), ("float64", 0.5, "float16"),
        ("bool", True, "int8"), ("int32", 300, "uint8"), ("float32", 2.5, "bfloat16"),
        ("float16", 0.5, "bfloat16"), ("int16", 1000, "bool"), ("float64", 2.5, "bool"),
    ]
    for dz, vz, dt in zero_dim_pairs:
        F.add(f"add_zerodim_{dz}_{dt}", "add", "a + b", [torch.tensor(vz, dtype=DTYPES[dz]),
                                                          T(lhs_values(dt), dt)])
    F.add("mul_zerodim_zerodim_int64_float16", "mul", "a * b",
          [torch.tensor(3, dtype=torch.int64), torch.tensor(1.5, dtype=torch.float16)])
    F.add("add_zerodim_zerodim_float64_float32", "add", "a + b",
          [torch.tensor(1.25, dtype=torch.float64), torch.tensor(2.5, dtype=torch.float32)])
    F.add("add_broadcast_int32_float32", "add", "a + b", [T([[1], [2], [3]], "int32"),
                                                          T([0.5, -0.5])])

    # --- pow -----------------------------------------------------------------------------------
    fx = T([0.5, 1.5, -2.0, 3.0, 0.0])
    ix = T([0, 1, -2, 3, 5], "int64")
    F.add("pow_float32_int2", "pow", "a ** exponent", [fx], {"exponent": S(2)})
    F.add("pow_float32_int3", "pow", "a ** exponent", [fx], {"exponent": S(3)})
    F.add("pow_float32_half", "pow", "a ** exponent", [fx], {"exponent": S(0.5)},
          note="negative base with fractional exponent is nan")
    F.add("pow_float32_neg1", "pow", "a ** exponent", [fx], {"exponent": S(-1)})
    F.add("pow_float32_zero", "pow", "a ** exponent", [fx], {"exponent": S(0)})
    F.add("pow_float16_int2", "pow", "a ** exponent", [T([0.5, 1.5, -2.0, 300.0], "float16")],
          {"exponent": S(2)})
    F.add("pow_int64_int2", "pow", "a ** exponent", [ix], {"exponent": S(2)})
    F.add("pow_int64_int3", "pow", "a ** exponent", [ix], {"exponent": S(3)})
    F.add("pow_int64_float", "pow", "a ** exponent", [T([0, 1, 4, 9], "int64")], {"exponent": S(0.5)})
    F.add("pow_int8_overflow", "pow", "a ** exponent", [T([2, 3, -5, 16], "int8")], {"exponent": S(3)})
    F.add("pow_uint8_int2", "pow", "a ** exponent", [T([2, 3, 16, 200], "uint8")], {"exponent": S(2)})
    F.add("rpow_int_float32", "rpow", "other ** a", [T([0.0, 1.0, -1.0, 2.5, 10.0])], {"other": S(2)})
    F.add("rpow_float_float32", "rpow", "other ** a", [T([0.0, 1.0, -1.0, 2.5])], {"other": S(1.5)})
    F.add("rpow_int_int64", "rpow", "other ** a", [T([0, 1, 2, 10], "int64")], {"other": S(2)})
    F.add("rpow_float_int64", "rpow", "other ** a", [T([0, 1, 2, -1], "int64")], {"other": S(2.5)})
    F.add("rpow_int_int64_negexp", "rpow", "other ** a", [T([0, 1, -1, -2], "int64")], {"other": S(2)},
          note="integer base, negative integer tensor exponent: no error here")
    F.add("pow_tensor_tensor_float32", "pow", "torch.pow(a, b)",
          [T([2.0, 0.5, -2.0, -2.0, 0.0, 0.0]), T([3.0, -1.0, 2.0, 0.5, 0.0, -1.0])])
    F.add("pow_tensor_tensor_int64", "pow", "torch.pow(a, b)",
          [T([2, 3, -2, 1, -1, 2], "int64"), T([3, 0, 3, -1, -1, -2], "int64")],
          note="integer tensor ** negative integer tensor: 1**-1=1, (-1)**-1=-1, 2**-2=0")
    F.add("pow_tensor_tensor_mixed", "pow", "torch.pow(a, b)", [T([2, 3, 4], "int64"), T([0.5, 2.0, -1.0])])
    F.add("pow_broadcast", "pow", "torch.pow(a, b)", [T([[1.0], [2.0], [3.0]]), T([0.0, 1.0, 2.0])])
    F.add("pow_int32_tensor_int64_zerodim", "pow", "torch.pow(a, b)",
          [T([1, 2, 3], "int32"), torch.tensor(2, dtype=torch.int64)])

    # --- unary ---------------------------------------------------------------------------------
    ux = T([-2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, 20.0, 100.0, float("inf"), float("-inf"), float("nan")])
    ui = T([-3, -1, 0, 1, 2, 10], "int64")
    for op in ["exp", "log", "sqrt", "rsqrt", "abs", "sign", "sin", "cos", "tanh", "sigmoid", "relu",
               "neg"]:
        F.add(f"{op}_float32", op, f"torch.{op}(a)", [ux])
        F.add(f"{op}_int64", op, f"torch.{op}(a)", [ui], allow_error=True)
    for op in ["exp", "log", "sqrt", "tanh", "sigmoid", "abs", "sin"]:
        for d in ["float16", "bfloat16"]:
            F.add(f"{op}_{d}", op, f"torch.{op}(a)", [T([-2.5, -0.5, 0.0, 0.25, 1.0, 3.0, 12.0], d)])
    for d in ["int32", "int8", "uint8", "bool"]:
        F.add(f"exp_{d}", "exp", "torch.exp(a)", [T(rhs_values(d), d)])
    F.add("neg_int8_min", "neg", "-a", [T([-128, -1, 0, 127], "int8")])
    F.add("neg_uint8", "neg", "-a", [T([0, 1, 200], "uint8")])
    F.add("neg_bool", "neg", "-a", [T([True, False], "bool")], allow_error=True)
    F.add("abs_int8_min", "abs", "torch.abs(a)", [T([-128, -5, 5], "int8")])
    F.add("sign_uint8", "sign", "torch.sign(a)", [T([0, 3], "uint8")])
    F.add("relu_int32", "relu", "torch.relu(a)", [T([-3, 0, 4], "int32")])

    # --- clamp ---------------------------------------------------------------------------------
    cf = T([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5, float("nan"), float("inf")])
    ci = T([-5, -1, 0, 1, 3, 7], "int64")
    F.add("clamp_min_float32", "clamp", "torch.clamp(a, min=min)", [cf], {"min": S(-1.0)})
    F.add("clamp_max_float32", "clamp", "torch.clamp(a, max=max)", [cf], {"max": S(0.5)})
    F.add("clamp_both_float32", "clamp", "torch.clamp(a, min=min, max=max)", [cf],
          {"min": S(-1.0), "max": S(0.5)})
    F.add("clamp_min_gt_max", "clamp", "torch.clamp(a, min=min, max=max)", [cf],
          {"min": S(1.0), "max": S(-1.0)}, note="min > max: every element becomes max")
    F.add("clamp_min_int64", "clamp", "torch.clamp(a, min=min)", [ci], {"min": S(0)})
    F.add("clamp_max_int64", "clamp", "torch.clamp(a, max=max)", [ci], {"max": S(2)})
    F.add("clamp_both_int64", "clamp", "torch.clamp(a, min=min, max=max)", [ci], {"min": S(-1), "max": S(2)})
    F.add("clamp_int64_float_bound", "clamp", "torch.clamp(a, min=min)", [ci], {"min": S(0.5)},
          note="float bound on an int tensor promotes to float32")
    F.add("clamp_uint8", "clamp", "torch.clamp(a, min=min, max=max)", [T([0, 5, 200], "uint8")],
          {"min": S(3), "max": S(100)})
    F.add("clamp_float16", "clamp", "torch.clamp(a, min=min, max=max)",
          [T([-3.0, 0.1, 2.0], "float16")], {"min": S(-1.0), "max": S(0.5)})
    F.add("clamp_tensor_bounds", "clamp", "torch.clamp(a, min=b, max=c)",
          [T([-3.0, 0.0, 5.0, 1.0]), T([-1.0, 1.0, 0.0, 2.0]), T([1.0, 2.0, 3.0, 1.5])])
    F.add("clamp_tensor_bounds_nan_broadcast", "clamp", "torch.clamp(a, min=b, max=c)",
          [T([[float("nan"), -2.0, 0.5], [3.0, 0.25, -0.0]]), T([0.0, float("nan"), 0.0]), T(1.0, shape=[])],
          note="a NaN element or bound gives NaN; bounds broadcast")
    F.add("clamp_tensor_bounds_int_float", "clamp", "torch.clamp(a, min=b, max=c)",
          [T([1, 5, 9], "int64"), T([2.5, 0.0, 0.0]), T([3, 4, 5], "int32")])
    F.add("clamp_min_tensor", "clamp_min", "torch.clamp_min(a, b)",
          [T([float("nan"), 1.0, -2.0, 3.0, 0.5]), T([0.0, float("nan"), -1.0, 0.0, 0.5])])
    F.add("clamp_max_tensor", "clamp_max", "torch.clamp_max(a, b)",
          [T([float("nan"), 1.0, -2.0, 3.0, 0.5], "float64"), T([[1.0], [0.0]], "float64")])
    F.add("clamp_max_tensor_int", "clamp_max", "torch.clamp_max(a, b)", [T([1, 7, -3], "int32"), T([2], "int64")])

    # --- maximum / minimum ---------------------------------------------------------------------
    ma = T([1.0, -2.0, float("nan"), 3.0, 0.0, float("nan"), -0.0])
    mb = T([0.5, -2.0, 1.0, float("nan"), -0.0, float("nan"), 0.0])
    F.add("maximum_float32_nan", "maximum", "torch.maximum(a, b)", [ma, mb])
    F.add("minimum_float32_nan", "minimum", "torch.minimum(a, b)", [ma, mb])
    F.add("maximum_int32_int64", "maximum", "torch.maximum(a, b)",
          [T([1, -5, 7], "int32"), T([3, -6, 7], "int64")])
    F.add("minimum_int64_float32", "minimum", "torch.minimum(a, b)",
          [T([1, -5, 7], "int64"), T([0.5, -6.0, 9.0])])
    F.add("maximum_broadcast", "maximum", "torch.maximum(a, b)", [T([[1.0], [5.0]]), T([0.0, 2.0, 9.0])])
    F.add("minimum_uint8_int8", "minimum", "torch.minimum(a, b)",
          [T([200, 0, 5], "uint8"), T([-1, 1, 5], "int8")])
    F.add("maximum_bool", "maximum", "torch.maximum(a, b)",
          [T([True, False, False], "bool"), T([False, True, False], "bool")])

    # --- comparisons ---------------------------------------------------------------------------
    cmp_a = T([1.0, 2.0, 3.0, float("nan"), -1.0, 2.5])
    cmp_b = T([1, 3, 2, 0, -1, 2], "int64")
    for op in ["lt", "le", "gt", "ge", "eq", "ne"]:
        F.add(f"{op}_float32_int64", op, f"torch.{op}(a, b)", [cmp_a, cmp_b])
        F.add(f"{op}_int64_scalar_float", op, f"torch.{op}(a, other)", [cmp_b], {"other": S(2.5)})
        F.add(f"{op}_float32_scalar_int", op, f"torch.{op}(a, other)", [cmp_a], {"other": S(2)})
        F.add(f"{op}_uint8_int8", op, f"torch.{op}(a, b)",
              [T([200, 0, 5, 255], "uint8"), T([-56, 0, 6, -1], "int8")],
              note="compared after promotion to int16: 200 is not -56")
        F.add(f"{op}_broadcast", op, f"torch.{op}(a, b)", [T([[1.0], [2.0], [3.0]]), T([1.0, 2.0, 3.0, 4.0])])
    F.add("eq_bool_int", "eq", "torch.eq(a, b)", [T([True, False, True], "bool"), T([1, 0, 2], "int64")])
    F.add("lt_bool_scalar", "lt", "torch.lt(a, other)", [T([True, False], "bool")], {"other": S(0.5)})
    F.add("eq_float16_float32", "eq", "torch.eq(a, b)",
          [T([0.1, 0.5], "float16"), T([0.1, 0.5], "float32")],
          note="0.1 in float16 is not 0.1 in float32; the comparison happens in float32")
    F.add("ne_nan_nan", "ne", "torch.ne(a, a)", [T([float("nan"), 1.0])])

    # --- logical -------------------------------------------------------------------------------
    la = T([True, True, False, False], "bool")
    lb = T([True, False, True, False], "bool")
    lf = T([0.0, -0.0, float("nan"), 2.5])
    li = T([0, 3, 0, -1], "int64")
    F.add("logical_and_bool", "logical_and", "torch.logical_and(a, b)", [la, lb])
    F.add("logical_or_bool", "logical_or", "torch.logical_or(a, b)", [la, lb])
    F.add("logical_xor_bool", "logical_xor", "torch.logical_xor(a, b)", [la, lb])
    F.add("logical_not_bool", "logical_not", "torch.logical_not(a)", [la])
    F.add("logical_and_float_int", "logical_and", "torch.logical_and(a, b)", [lf, li])
    F.add("logical_or_float_int", "logical_or", "torch.logical_or(a, b)", [lf, li])
    F.add("logical_not_float", "logical_not", "torch.logical_not(a)", [lf],
          note="nan and -0.0: nan is truthy, -0.0 is not")
    F.add("logical_not_int", "logical_not", "torch.logical_not(a)", [li])
    F.add("logical_and_broadcast", "logical_and", "torch.logical_and(a, b)",
          [T([[True], [False]], "bool"), T([True, False, True], "bool")])
    F.add("bitwise_not_bool", "bitwise_not", "~a", [la])
    F.add("and_operator_bool", "bitwise_and", "a & b", [la, lb])
    F.add("or_operator_bool", "bitwise_or", "a | b", [la, lb])

    # --- where ---------------------------------------------------------------------------------
    F.add("where_broadcast", "where", "torch.where(a, b, c)",
          [T([[True], [False], [True]], "bool"), T([[1.0, 2.0, 3.0, 4.0]]), T([-1.0, -2.0, -3.0, -4.0])])
    F.add("where_mixed_dtype", "where", "torch.where(a, b, c)",
          [T([True, False, True], "bool"), T([1, 2, 3], "int64"), T([0.5, 0.25, 0.125])])
    F.add("where_scalar_other", "where", "torch.where(a, b, other)",
          [T([True, False, True], "bool"), T([1.0, 2.0, 3.0])], {"other": S(0.0)})
    F.add("where_scalar_other_int_tensor", "where", "torch.where(a, b, other)",
          [T([True, False, True], "bool"), T([1, 2, 3], "int32")], {"other": S(0.5)})
    F.add("where_scalar_both_float", "where", "torch.where(a, x, y)",
          [T([True, False], "bool")], {"x": S(1.0), "y": S(0.0)})
    F.add("where_scalar_both_int", "where", "torch.where(a, x, y)",
          [T([True, False], "bool")], {"x": S(1), "y": S(0)})
    F.add("where_uint8_cond_float16", "where", "torch.where(a, b, c)",
          [T([True, False], "bool"), T([1.5, 2.5], "float16"), T([3.0, 4.0], "bfloat16")])
    F.add("where_nonzero", "nonzero", "torch.nonzero(a)", [T([[0.0, 1.0], [2.0, 0.0]])])

    # --- reductions ----------------------------------------------------------------------------
    rx = quarters((2, 3, 4), g)
    rties = T([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, 0.0, 5.0]])
    rnan = T([[1.0, float("nan"), 3.0], [4.0, 5.0, 6.0]])
    dims_cases = [None, 0, 1, -1, [0, 2], [-1, 0], [0, 1, 2]]
    for op in ["sum", "mean", "amax", "amin", "logsumexp", "var", "std"]:
        for dim in dims_cases:
            if dim is None and op == "logsumexp":
                continue  # logsumexp needs dim
            # keepdim=True for a single dim, a negative dim and a dim list
            for keepdim in ([False] if dim is None else [False, True] if dim in (1, -1, [0, 2]) else [False]):
                if dim is None:
                    F.add(f"{op}_all", op, f"torch.{op}(a)", [rx])
                else:
                    dn = str(dim).replace(" ", "").replace("[", "").replace("]", "").replace(",", "_")
                    F.add(f"{op}_dim{dn}_keep{int(keepdim)}", op,
                          f"torch.{op}(a, dim=dim, keepdim=keepdim)", [rx], {"dim": dim, "keepdim": keepdim})
    for op in ["var", "std"]:
        F.add(f"{op}_unbiased_false", op, f"torch.{op}(a, unbiased=unbiased)", [rx], {"unbiased": False})
        F.add(f"{op}_correction0_dim1", op, f"torch.{op}(a, dim=dim, correction=correction)", [rx],
              {"dim": 1, "correction": 0})
        F.add(f"{op}_correction2_dim-1", op, f"torch.{op}(a, dim=dim, correction=correction)", [rx],
              {"dim": -1, "correction": 2})
        F.add(f"{op}_single_element", op, f"torch.{op}(a, dim=dim)", [T([[1.0, 2.0]])], {"dim": 0},
              note="one element with correction 1: nan (torch also warns)")
    for op in ["prod", "max", "min", "argmax", "argmin"]:
        F.add(f"{op}_all", op, f"torch.{op}(a)", [rx])
        for dim in [0, 1, -1]:
            for keepdim in [False, True]:
                F.add(f"{op}_dim{dim}_keep{int(keepdim)}", op, f"torch.{op}(a, dim=dim, keepdim=keepdim)",
                      [rx], {"dim": dim, "keepdim": keepdim})
    for op in ["max", "min", "argmax", "argmin", "amax", "amin"]:
        F.add(f"{op}_ties_all", op, f"torch.{op}(a)", [rties])
        F.add(f"{op}_ties_dim1", op, f"torch.{op}(a, dim=dim)", [rties], {"dim": 1},
              note=None if op.startswith("am") else "ties: the first index is returned")
        F.add(f"{op}_ties_dim0", op, f"torch.{op}(a, dim=dim)", [rties], {"dim": 0})
        F.add(f"{op}_nan_all", op, f"torch.{op}(a)", [rnan])
        F.add(f"{op}_nan_dim1", op, f"torch.{op}(a, dim=dim)", [rnan], {"dim": 1})
    F.add("sum_nan", "sum", "torch.sum(a)", [rnan])
    F.add("sum_int32", "sum", "torch.sum(a)", [T([1, 2, 2147483647], "int32")],
          note="int32 sums accumulate and return int64")
    F.add("sum_int32_dim", "sum", "torch.sum(a, dim=dim)", [T([[1, 2], [3, 4]], "int32")], {"dim": 0})
    F.add("sum_int8", "sum", "torch.sum(a)", [T([100, 100, 100], "int8")])
    F.add("sum_uint8", "sum", "torch.sum(a)", [T([200, 200], "uint8")])
    F.add("sum_bool", "sum", "torch.sum(a)", [T([True, False, True, True], "bool")])
    F.add("sum_bool_dim", "sum", "torch.sum(a, dim=dim)", [T([[True, False], [True, True]], "bool")],
          {"dim": 1})
    F.add("sum_float16", "sum", "torch.sum(a)", [T([1000.0, 0.25, 0.25, 0.25, 0.25], "float16")])
    F.add("sum_dtype_arg", "sum", "torch.sum(a, dtype=dtype)", [T([1, 2, 3], "int32")],
          {"dtype": torch.float64})
    F.add("prod_int32", "prod", "torch.prod(a)", [T([2, 3, 4], "int32")])
    F.add("prod_bool", "prod", "torch.prod(a)", [T([True, True], "bool")])
    F.add("mean_float16", "mean", "torch.mean(a)", [T([1.0, 2.0, 2.5, 0.1, 1000.0], "float16")])
    F.add("mean_bfloat16_dim", "mean", "torch.mean(a, dim=dim)", [T([[1.0, 2.0, 3.0], [0.5, 0.25, 7.0]],
                                                                     "bfloat16")], {"dim": 1})
    F.add("mean_int64", "mean", "torch.mean(a)", [T([1, 2], "int64")], allow_error=True)
    F.add("max_int64_dim", "max", "torch.max(a, dim=dim)", [T([[3, 9, 9], [-1, -7, 0]], "int64")], {"dim": 1})
    F.add("max_bool", "max", "torch.max(a)", [T([False, True], "bool")])
    F.add("argmax_float16_all", "argmax", "torch.argmax(a)", [T([[0.5, 2.0], [2.0, -1.0]], "float16")])
    F.add("max_binary", "max", "torch.max(a, b)", [T([1.0, 5.0]), T([3.0, 2.0])],
          note="torch.max with a tensor as second argument is maximum")
    F.add("logsumexp_inf", "logsumexp", "torch.logsumexp(a, dim=dim)",
          [T([[float("-inf"), float("-inf")], [1000.0, 1000.0], [float("inf"), 0.0]])], {"dim": 1})
    F.add("logsumexp_int64", "logsumexp", "torch.logsumexp(a, dim=dim)", [T([1, 2, 3], "int64")], {"dim": 0})
    F.add("sum_empty", "sum", "torch.sum(a)", [torch.zeros(0)])
    F.add("prod_empty", "prod", "torch.prod(a)", [torch.zeros(0)])
    F.add("mean_empty", "mean", "torch.mean(a)", [torch.zeros(0)])
    F.add("sum_zero_size_dim", "sum", "torch.sum(a, dim=dim)", [torch.zeros(2, 0)], {"dim": 1})

    # --- softmax / log_softmax -----------------------------------------------------------------
    sx = quarters((2, 3, 4), g)
    for op in ["softmax", "log_softmax"]:
        for dim in [0, 1, -1]:
            F.add(f"{op}_dim{dim}", op, f"torch.{op}(a, dim=dim)", [sx], {"dim": dim})
        F.add(f"{op}_masked", op, f"torch.{op}(a, dim=dim)",
              [T([[0.0, float("-inf"), 1.0], [float("-inf"), float("-inf"), float("-inf")],
                  [1000.0, 0.0, -1000.0]])], {"dim": 1},
              note="an all -inf row gives nan")
        F.add(f"{op}_float16", op, f"torch.{op}(a, dim=dim)", [T([[0.5, 1.0, 2.0]], "float16")], {"dim": -1})
        F.add(f"{op}_dtype_arg", op, f"torch.{op}(a, dim=dim, dtype=dtype)", [T([[0.5, 1.0, 2.0]])],
              {"dim": 1, "dtype": torch.float64})

    # --- matrix products -----------------------------------------------------------------------
    def mat(shape, dtype="float32"):
        return ints(shape, g, dtype=dtype)

    F.add("mm", "mm", "torch.mm(a, b)", [mat((3, 4)), mat((4, 2))])
    F.add("mm_int64", "mm", "torch.mm(a, b)", [mat((2, 3), "int64"), mat((3, 2), "int64")])
    F.add("mm_float16", "mm", "torch.mm(a, b)", [quarters((2, 3), g, dtype="float16"),
                                                 quarters((3, 2), g, dtype="float16")])
    matmul_shapes = [
        ("1d_1d", (4,), (4,)), ("2d_1d", (3, 4), (4,)), ("1d_2d", (4,), (4, 3)), ("2d_2d", (2, 4), (4, 3)),
        ("3d_2d", (2, 3, 4), (4, 5)), ("2d_3d", (3, 4), (2, 4, 5)), ("3d_1d", (2, 3, 4), (4,)),
        ("1d_3d", (4,), (2, 4, 5)), ("3d_3d_broadcast", (1, 3, 4), (2, 4, 2)),
        ("4d_3d", (2, 1, 3, 4), (5, 4, 2)), ("4d_1d", (2, 2, 3, 4), (4,)), ("1d_4d", (3,), (2, 2, 3, 2)),
        ("4d_4d_broadcast", (2, 1, 2, 3), (1, 3, 3, 2)),
    ]
    for name, sa, sb in matmul_shapes:
        F.add(f"matmul_{name}", "matmul", "torch.matmul(a, b)", [mat(sa), mat(sb)])
    F.add("matmul_int32", "matmul", "a @ b", [mat((2, 3), "int32"), mat((3,), "int32")])
    F.add("bmm", "bmm", "torch.bmm(a, b)", [mat((2, 3, 4)), mat((2, 4, 2))])
    F.add("dot", "dot", "torch.dot(a, b)", [mat((5,)), mat((5,))])
    F.add("dot_int64", "dot", "torch.dot(a, b)", [mat((5,), "int64"), mat((5,), "int64")])
    F.add("outer", "outer", "torch.outer(a, b)", [mat((3,)), mat((4,))])
    F.add("outer_mixed", "outer", "torch.outer(a, b)", [mat((3,), "int64"), mat((2,))])
    F.add("mv", "mv", "torch.mv(a, b)", [mat((3, 4)), mat((4,))])
    F.add("matmul_nonexact", "matmul", "torch.matmul(a, b)", [T([[0.1, 0.2, 0.3]]), T([[0.3], [0.2], [0.1]])],
          note="not exact: compare with a tolerance")

    # --- cat / stack / split / chunk -----------------------------------------------------------
    c1, c2 = mat((2, 3)), mat((2, 3))
    F.add("cat_dim0", "cat", "torch.cat([a, b], dim=dim)", [c1, mat((1, 3))], {"dim": 0})
    F.add("cat_dim1", "cat", "torch.cat([a, b], dim=dim)", [c1, mat((2, 2))], {"dim": 1})
    F.add("cat_dim-1", "cat", "torch.cat([a, b, c], dim=dim)", [c1, mat((2, 1)), c2], {"dim": -1})
    F.add("cat_dim-2_3d", "cat", "torch.cat([a, b], dim=dim)", [mat((2, 1, 2)), mat((2, 3, 2))], {"dim": -2})
    F.add("cat_mixed_dtype", "cat", "torch.cat([a, b], dim=dim)", [T([1, 2], "int32"), T([0.5])], {"dim": 0},
          note="cat promotes its inputs")
    F.add("cat_int_bool", "cat", "torch.cat([a, b], dim=dim)", [T([1, 2], "int8"), T([True], "bool")],
          {"dim": 0})
    F.add("cat_legacy_empty", "cat", "torch.cat([a, b], dim=dim)", [c1, torch.zeros(0)], {"dim": 0},
          note="a 1-d empty tensor is skipped")
    for dim in [0, 1, 2, -1, -3]:
        F.add(f"stack_dim{dim}", "stack", "torch.stack([a, b], dim=dim)", [c1, c2], {"dim": dim})
    F.add("stack_1d_three", "stack", "torch.stack([a, b, c], dim=dim)", [mat((2,)), mat((2,)), mat((2,))],
          {"dim": 1})
    F.add("stack_mixed_dtype", "stack", "torch.stack([a, b], dim=dim)", [T([1, 2], "int64"), T([0.5, 1.5])],
          {"dim": 0})
    sp = mat((5, 3))
    F.add("split_int", "split", "torch.split(a, split_size, dim=dim)", [sp], {"split_size": 2, "dim": 0})
    F.add("split_int_dim1", "split", "torch.split(a, split_size, dim=dim)", [sp], {"split_size": 2, "dim": 1})
    F.add("split_int_larger", "split", "torch.split(a, split_size, dim=dim)", [sp],
          {"split_size": 7, "dim": 0})
    F.add("split_list", "split", "torch.split(a, split_size, dim=dim)", [sp],
          {"split_size": [1, 3, 1], "dim": 0})
    F.add("split_list_neg_dim", "split", "torch.split(a, split_size, dim=dim)", [sp],
          {"split_size": [2, 0, 1], "dim": -1})
    F.add("chunk_5_by_3", "chunk", "torch.chunk(a, chunks, dim=dim)", [sp], {"chunks": 3, "dim": 0},
          note="sizes 2, 2, 1")
    F.add("chunk_6_by_4", "chunk", "torch.chunk(a, chunks, dim=dim)", [mat((6,))], {"chunks": 4, "dim": 0},
          note="only 3 chunks come back (size ceil(6/4)=2 each)")
    F.add("chunk_5_by_4", "chunk", "torch.chunk(a, chunks, dim=dim)", [mat((5,))], {"chunks": 4, "dim": 0},
          note="3 chunks: sizes 2, 2, 1")
    F.add("chunk_3_by_5", "chunk", "torch.chunk(a, chunks, dim=dim)", [sp], {"chunks": 5, "dim": 1})
    F.add("narrow", "narrow", "torch.narrow(a, dim, start, length)", [sp], {"dim": 0, "start": 1, "length": 3})
    F.add("unbind", "unbind", "torch.unbind(a, dim=dim)", [mat((2, 3))], {"dim": 1})

    # --- indexing ------------------------------------------------------------------------------
    ix2 = mat((3, 4))
    F.add("index_select_dim0", "index_select", "torch.index_select(a, dim, index)", [ix2],
          {"dim": 0, "index": T([2, 0, 2], "int64")})
    F.add("index_select_dim1", "index_select", "torch.index_select(a, dim, index)", [ix2],
          {"dim": 1, "index": T([3, 1], "int64")})
    F.add("index_select_dim-1_int32", "index_select", "torch.index_select(a, dim, index)", [ix2],
          {"dim": -1, "index": T([0, 0], "int32")})
    F.add("gather_dim0", "gather", "torch.gather(a, dim, index)", [ix2],
          {"dim": 0, "index": T([[0, 1, 2, 0], [2, 2, 1, 0]], "int64")})
    F.add("gather_dim1", "gather", "torch.gather(a, dim, index)", [ix2],
          {"dim": 1, "index": T([[3, 0], [1, 1], [0, 2]], "int64")})
    F.add("scatter_src_dim0", "scatter", "torch.scatter(a, dim, index, src)", [torch.zeros(3, 4)],
          {"dim": 0, "index": T([[1, 0, 2, 0]], "int64"), "src": T([[1.0, 2.0, 3.0, 4.0]])})
    F.add("scatter_src_dim1", "scatter", "torch.scatter(a, dim, index, src)", [ix2],
          {"dim": 1, "index": T([[3, 0], [1, 2], [0, 1]], "int64"), "src": T([[10.0, 20.0, 30.0],
                                                                               [40.0, 50.0, 60.0],
                                                                               [70.0, 80.0, 90.0]])},
          note="src is larger than index: only src[:2 columns] are used")
    F.add("scatter_value", "scatter", "torch.scatter(a, dim, index, value)", [ix2],
          {"dim": 1, "index": T([[0], [3], [1]], "int64"), "value": S(-1.5)})
    F.add("scatter_value_int", "scatter", "torch.scatter(a, dim, index, value)", [T([[1, 2], [3, 4]], "int64")],
          {"dim": 0, "index": T([[1, 0]], "int64"), "value": S(9)})
    F.add("scatter_add", "scatter_add", "torch.scatter_add(a, dim, index, src)", [torch.zeros(2, 3)],
          {"dim": 1, "index": T([[0, 0, 2], [1, 1, 1]], "int64"), "src": T([[1.0, 2.0, 4.0], [1.0, 2.0, 4.0]])})
    mask = T([[True, False, True, False], [False, False, False, False], [True, True, True, True]], "bool")
    F.add("masked_fill_float", "masked_fill", "torch.masked_fill(a, mask, value)", [ix2],
          {"mask": mask, "value": S(-7.5)})
    F.add("masked_fill_broadcast", "masked_fill", "torch.masked_fill(a, mask, value)", [ix2],
          {"mask": T([[True], [False], [True]], "bool"), "value": S(0.0)})
    F.add("masked_fill_int_float_value", "masked_fill", "torch.masked_fill(a, mask, value)",
          [T([1, 2, 3], "int64")], {"mask": T([True, False, True], "bool"), "value": S(2.5)},
          note="the float value is truncated to the int tensor's dtype")
    F.add("masked_fill_inf", "masked_fill", "torch.masked_fill(a, mask, value)", [T([1.0, 2.0])],
          {"mask": T([True, False], "bool"), "value": S(float("-inf"))})
    F.add("masked_fill_zerodim_tensor_value", "masked_fill", "torch.masked_fill(a, mask, value)",
          [T([1.0, 2.0, 3.0], "float16")], {"mask": T([False, True, True], "bool"),
                                            "value": torch.tensor(0.1, dtype=torch.float64)})
    F.add("mask_get_same_shape", "index", "a[mask]", [ix2], {"mask": mask})
    F.add("mask_get_rows", "index", "a[mask]", [ix2], {"mask": T([True, False, True], "bool")})
    F.add("mask_get_none", "index", "a[mask]", [ix2], {"mask": T([False, False, False], "bool")})
    F.add("mask_get_3d_leading", "index", "a[mask]", [mat((2, 2, 3))],
          {"mask": T([[True, False], [True, True]], "bool")})
    F.add("index_int_tensor", "index", "a[index]", [ix2], {"index": T([2, 0, 2], "int64")})
    F.add("index_negative", "index", "a[index]", [ix2], {"index": -1})
    F.add("index_step_slice", "index", "a[:, ::2]", [ix2])
    F.add("index_ellipsis_none", "index", "a[..., None, 1]", [ix2])

    # --- casts ---------------------------------------------------------------------------------
    cast_src = T([2.7, -2.7, 0.5, -0.5, 1.0, -0.0, 127.9, -128.9, 255.5, 1e10])
    for d in ["int64", "int32", "int16", "int8", "uint8", "bool", "float16", "bfloat16", "float64"]:
        F.add(f"cast_float32_to_{d}", "to", "a.to(dtype)", [cast_src], {"dtype": DTYPES[d]},
              note="float -> int truncates toward zero; out-of-range values are implementation-defined "
                   "(C++ UB) and recorded as this machine gave them" if d not in FLOATS + ["bool"] else None)
    F.add("cast_negative_float_to_uint8", "to", "a.to(dtype)",
          [T([-1.0, -2.5, -0.5, -128.0, -255.0, 256.0, 300.5])], {"dtype": torch.uint8},
          note="negative floats wrap like int64 -> uint8 on this machine (-1.0 -> 255); >255 also wraps")
    F.add("cast_nan_inf_to_bool", "to", "a.to(dtype)",
          [T([float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1e-45])], {"dtype": torch.bool})
    F.add("cast_nan_inf_to_int64", "to", "a.to(dtype)", [T([float("nan"), float("inf"), float("-inf")])],
          {"dtype": torch.int64}, note="implementation-defined (x86: INT64_MIN); Swift's Int(Double.nan) traps")
    F.add("cast_nan_inf_to_int32", "to", "a.to(dtype)", [T([float("nan"), float("inf"), float("-inf")])],
          {"dtype": torch.int32}, note="implementation-defined")
    F.add("cast_float32_to_float16_rounding", "to", "a.to(dtype)",
          [T([0.1, 1.0 / 3.0, 2049.0, 2051.0, 65504.0, 65519.0, 65520.0, 1e5, -1e5, 1e-8, 6e-8, 3e-5, 1e-45])],
          {"dtype": torch.float16}, note="round to nearest even; 65520 and above overflow to inf; subnormals")
    F.add("cast_float32_to_bfloat16_rounding", "to", "a.to(dtype)",
          [T([0.1, 1.0 / 3.0, 257.0, 259.0, 3.3895314e38, 3.4e38, 1e-40, 1.00390625, 1.01171875, -0.0])],
          {"dtype": torch.bfloat16}, note="round to nearest even (257 -> 256, 259 -> 260)")
    F.add("cast_float64_to_float32", "to", "a.to(dtype)", [T([0.1, 1e40, 1e-50, 1.0000000596046448], "float64")],
          {"dtype": torch.float32})
    F.add("cast_int64_to_float16", "to", "a.to(dtype)", [T([2049, 2051, 65504, 65520, 100000, -3], "int64")],
          {"dtype": torch.float16})
    F.add("cast_int64_to_float32", "to", "a.to(dtype)", [T([16777217, 2**62 + 1, -(2**63)], "int64")],
          {"dtype": torch.float32})
    F.add("cast_int32_to_uint8", "to", "a.to(dtype)", [T([300, -1, 255, 256, -256], "int32")],
          {"dtype": torch.uint8})
    F.add("cast_int64_to_int8", "to", "a.to(dtype)", [T([127, 128, -129, 1000], "int64")], {"dtype": torch.int8})
    F.add("cast_int_to_bool", "to", "a.to(dtype)", [T([0, 1, -1, 256], "int64")], {"dtype": torch.bool})
    F.add("cast_bool_to_float32", "to", "a.to(dtype)", [T([True, False], "bool")], {"dtype": torch.float32})
    F.add("cast_uint8_to_int8", "to", "a.to(dtype)", [T([0, 127, 128, 255], "uint8")], {"dtype": torch.int8})
    F.add("cast_float16_to_int64", "to", "a.to(dtype)", [T([2.5, -2.5, 65504.0], "float16")],
          {"dtype": torch.int64})
    F.add("cast_bfloat16_to_float16", "to", "a.to(dtype)", [T([1e-5, 1e5, 0.1], "bfloat16")],
          {"dtype": torch.float16})
    for name, method in [("float", "float32"), ("double", "float64"), ("half", "float16"), ("long", "int64"),
                         ("int", "int32"), ("bool", "bool")]:
        F.add(f"cast_method_{name}", "to", f"a.{name}()", [T([1.5, -2.5, 0.0])],
              note=f"a.{name}() is a.to(torch.{method})")

    # --- creation ------------------------------------------------------------------------------
    F.add("arange_int", "arange", "torch.arange(end)", [], {"end": S(5)})
    F.add("arange_start_end_step", "arange", "torch.arange(start, end, step)", [],
          {"start": S(0), "end": S(10), "step": S(3)})
    F.add("arange_float_step", "arange", "torch.arange(start, end, step)", [],
          {"start": S(0), "end": S(1), "step": S(0.25)})
    F.add("arange_float_step_0.1", "arange", "torch.arange(start, end, step)", [],
          {"start": S(0.0), "end": S(1.0), "step": S(0.1)})
    F.add("arange_float_step_0.3", "arange", "torch.arange(start, end, step)", [],
          {"start": S(-1.0), "end": S(1.0), "step": S(0.3)})
    F.add("arange_negative_step", "arange", "torch.arange(start, end, step)", [],
          {"start": S(5), "end": S(0), "step": S(-1)})
    F.add("arange_negative_float_step", "arange", "torch.arange(start, end, step)", [],
          {"start": S(1.0), "end": S(-1.0), "step": S(-0.5)})
    F.add("arange_float_end", "arange", "torch.arange(end)", [], {"end": S(3.5)})
    F.add("arange_dtype", "arange", "torch.arange(end, dtype=dtype)", [], {"end": S(4), "dtype": torch.float64})
    F.add("arange_empty", "arange", "torch.arange(start, end)", [], {"start": S(3), "end": S(3)})
    F.add("arange_float16", "arange", "torch.arange(start, end, step, dtype=dtype)", [],
          {"start": S(0), "end": S(1), "step": S(0.1), "dtype": torch.float16})
    F.add("linspace_0_1_5", "linspace", "torch.linspace(start, end, steps)", [],
          {"start": S(0), "end": S(1), "steps": 5})
    F.add("linspace_neg", "linspace", "torch.linspace(start, end, steps)", [],
          {"start": S(-1.0), "end": S(1.0), "steps": 4})
    F.add("linspace_0_1_10", "linspace", "torch.linspace(start, end, steps)", [],
          {"start": S(0.0), "end": S(1.0), "steps": 10})
    F.add("linspace_descending", "linspace", "torch.linspace(start, end, steps)", [],
          {"start": S(10), "end": S(-5), "steps": 7})
    F.add("linspace_one", "linspace", "torch.linspace(start, end, steps)", [],
          {"start": S(3.0), "end": S(10.0), "steps": 1})
    F.add("linspace_zero", "linspace", "torch.linspace(start, end, steps)", [],
          {"start": S(3.0), "end": S(10.0), "steps": 0})
    F.add("linspace_int", "linspace", "torch.linspace(start, end, steps, dtype=dtype)", [],
          {"start": S(0), "end": S(10), "steps": 4, "dtype": torch.int64}, note="values truncate")
    F.add("linspace_float64", "linspace", "torch.linspace(start, end, steps, dtype=dtype)", [],
          {"start": S(0), "end": S(1), "steps": 7, "dtype": torch.float64})
    F.add("eye_n", "eye", "torch.eye(n)", [], {"n": 3})
    F.add("eye_n_m", "eye", "torch.eye(n, m)", [], {"n": 2, "m": 4})
    F.add("eye_m_n", "eye", "torch.eye(n, m)", [], {"n": 4, "m": 2})
    F.add("eye_int64", "eye", "torch.eye(n, dtype=dtype)", [], {"n": 2, "dtype": torch.int64})
    F.add("eye_bool", "eye", "torch.eye(n, dtype=dtype)", [], {"n": 2, "dtype": torch.bool})
    F.add("eye_zero", "eye", "torch.eye(n)", [], {"n": 0})
    F.add("full_int", "full", "torch.full(size, fill_value)", [], {"size": [2, 3], "fill_value": S(7)},
          note="an int fill value gives int64")
    F.add("full_float", "full", "torch.full(size, fill_value)", [], {"size": [2], "fill_value": S(2.5)})
    F.add("full_bool", "full", "torch.full(size, fill_value)", [], {"size": [3], "fill_value": S(True)})
    F.add("full_dtype", "full", "torch.full(size, fill_value, dtype=dtype)", [],
          {"size": [2, 2], "fill_value": S(0.1), "dtype": torch.float16})
    F.add("full_zerodim", "full", "torch.full(size, fill_value)", [], {"size": [], "fill_value": S(-1.5)})
    F.add("full_inf", "full", "torch.full(size, fill_value)", [], {"size": [2], "fill_value": S(float("inf"))})
    F.add("zeros_default", "zeros", "torch.zeros(size)", [], {"size": [2, 2]})
    F.add("ones_int", "ones", "torch.ones(size, dtype=dtype)", [], {"size": [3], "dtype": torch.int32})
    F.add("zeros_like_uint8", "zeros_like", "torch.zeros_like(a)", [T([5, 6], "uint8")])
    F.add("ones_like_dtype", "ones_like", "torch.ones_like(a, dtype=dtype)", [T([5, 6], "int64")],
          {"dtype": torch.bool})
    F.add("full_like_float_into_int", "full_like", "torch.full_like(a, fill_value)", [T([5, 6], "int64")],
          {"fill_value": S(2.9)})
    F.add("tensor_from_mixed_list", "tensor", "torch.tensor(data)", [], {"data": [1, 2.5, True]},
          note="a Python list with a float infers float32")
    F.add("tensor_from_int_list", "tensor", "torch.tensor(data)", [], {"data": [[1, 2], [3, 4]]})
    F.add("tensor_from_bool_list", "tensor", "torch.tensor(data)", [], {"data": [True, False]})
    F.add("tensor_from_float_scalar", "tensor", "torch.tensor(data)", [], {"data": 2.5})
    F.add("index_add_dim0_repeated", "index_add", "torch.index_add(a, dim, index, b)", [mat((3, 4)), mat((3, 4))],
          {"dim": 0, "index": T([2, 0, 2], "int64")}, note="repeated indices add up")
    F.add("index_add_dim1_int32", "index_add", "torch.index_add(a, dim, index, b)",
          [T([[1, 2, 3], [4, 5, 6]], "int64"), T([[10, 20], [30, 40]], "int64")],
          {"dim": 1, "index": T([2, 0], "int32")})
    F.add("index_tensor_negative", "index", "a[index]", [mat((4, 3))], {"index": T([-1, 0, -4], "int64")},
          note="subscripts count negative indices from the end")

    # add and sub with alpha round once: PyTorch's kernel is a fused multiply-add, with alpha
    # first converted to the tensor's dtype. Of each float case's elements, the first 12 are
    # ones where rounding alpha * b first (in the dtype) gives another result. float16 and
    # bfloat16 take 64: PyTorch computes those in float32 vectors of 32 elements and the last
    # n % 32 with the half type's scalar operators, which round alpha * b first.
    g = torch.Generator().manual_seed(11)
    for d, alpha in (("float32", -1e-3), ("float64", 0.1), ("float16", -1e-3), ("bfloat16", 0.3)):
        a, b = torch.randn(20000, generator=g).to(DTYPES[d]), torch.randn(20000, generator=g).to(DTYPES[d])
        for op in ("add", "sub"):
            fused = getattr(torch, op)(a, b, alpha=alpha)
            twice = getattr(torch, op)(a, b * alpha)
            differing = (fused != twice).nonzero().flatten()[:12]
            assert len(differing) == 12, (d, op)
            picked = torch.cat([differing, torch.arange(25 if DTYPES[d].itemsize > 2 else 52)])
            F.add(f"{op}_alpha_fused_{d}", op, f"torch.{op}(a, b, alpha=alpha)", [a[picked], b[picked]],
                  {"alpha": S(alpha)})
    F.add("add_alpha_broadcast", "add", "torch.add(a, b, alpha=alpha)",
          [torch.randn(4, 5, generator=g), torch.randn(5, generator=g)], {"alpha": S(-0.7)})
    F.add("add_alpha_int_tensor_float_tensor", "add", "torch.add(a, b, alpha=alpha)",
          [T([1, 2, 3], "int64"), torch.randn(3, generator=g)], {"alpha": S(2.5)})
    F.add("add_alpha_int8_wraps", "add", "torch.add(a, b, alpha=alpha)",
          [T([100, -100, 7], "int8"), T([3, 3, -1], "int8")], {"alpha": S(100)})
    F.add("add_alpha_zero_times_inf", "add", "torch.add(a, b, alpha=alpha)",
          [T([1.0, 2.0]), T([math.inf, 1.0])], {"alpha": S(0)})
    F.add("add_alpha_float_for_integers", "add", "torch.add(a, b, alpha=alpha)",
          [T([1, 2], "int64"), T([3, 4], "int64")], {"alpha": S(2.5)}, allow_error=True)
    F.add("add_alpha_int8_overflow", "add", "torch.add(a, b, alpha=alpha)",
          [T([1, 2], "int8"), T([3, 4], "int8")], {"alpha": S(300)}, allow_error=True)
    F.add("add_alpha_uint8_negative", "add", "torch.add(a, b, alpha=alpha)",
          [T([10, 20], "uint8"), T([3, 4], "uint8")], {"alpha": S(-2)}, allow_error=True)
    F.add("add_alpha_float16_overflow", "add", "torch.add(a, b, alpha=alpha)",
          [T([1.0, 2.0], "float16"), T([3.0, 4.0], "float16")], {"alpha": S(1e6)}, allow_error=True)
    F.add("sub_alpha_float32_overflow", "sub", "torch.sub(a, b, alpha=alpha)",
          [T([1.0, 2.0]), T([3.0, 4.0])], {"alpha": S(1e300)}, allow_error=True)
    return F.cases


# ----------------------------------------------------------------------------------------------
# promotion.json


def record_promotion():
    names = list(DTYPES)
    cases = []

    def tensor(d, zerodim):
        t = torch.ones((), dtype=DTYPES[d]) if zerodim else torch.ones(2, dtype=DTYPES[d])
        return t

    for la, lk in (("tensor", False), ("zerodim", True)):
        for ra, rk in (("tensor", False), ("zerodim", True)):
            for a in names:
                for b in names:
                    r = torch.result_type(tensor(a, lk), tensor(b, rk))
                    cases.append({"lhs_kind": la, "lhs": a, "rhs_kind": ra, "rhs": b, "result": dname(r)})
    for la, lk in (("tensor", False), ("zerodim", True)):
        for a in names:
            for sname, s in (("int", 2), ("float", 2.5), ("bool", True)):
                r = torch.result_type(tensor(a, lk), s)
                cases.append({"lhs_kind": la, "lhs": a, "rhs_kind": "scalar", "rhs": sname, "result": dname(r)})
                r2 = torch.result_type(s, tensor(a, lk))
                assert r2 == r
    return {"dtypes": names, "default_dtype": dname(torch.get_default_dtype()), "cases": cases}


# ----------------------------------------------------------------------------------------------
# errors.json

ERRORS = [
    ("mm_shape_mismatch", "torch.randn(64, 1000).mm(torch.randn(100, 10))"),
    ("matmul_2d_shape_mismatch", "torch.randn(64, 1000) @ torch.randn(100, 10)"),
    ("mm_not_matrix", "torch.randn(3).mm(torch.randn(3, 2))"),
    ("mm_dtype_mismatch", "torch.ones(2, 3).mm(torch.ones(3, 2, dtype=torch.float64))"),
    ("add_broadcast_mismatch", "torch.zeros(2, 3) + torch.zeros(2, 4)"),
    ("add_broadcast_mismatch_dim0", "torch.zeros(3, 4) + torch.zeros(2, 4)"),
    ("mul_broadcast_mismatch_3d", "torch.zeros(2, 3, 4) * torch.zeros(5, 1)"),
    ("matmul_1d_1d_mismatch", "torch.zeros(3) @ torch.zeros(4)"),
    ("matmul_2d_1d_mismatch", "torch.zeros(2, 3) @ torch.zeros(4)"),
    ("matmul_1d_2d_mismatch", "torch.zeros(4) @ torch.zeros(3, 2)"),
    ("matmul_3d_2d_mismatch", "torch.zeros(2, 3, 4) @ torch.zeros(5, 6)"),
    ("matmul_batch_broadcast_mismatch", "torch.zeros(2, 3, 4) @ torch.zeros(3, 4, 5)"),
    ("matmul_zerodim", "torch.tensor(1.0) @ torch.zeros(3)"),
    ("bmm_batch_mismatch", "torch.bmm(torch.zeros(2, 3, 4), torch.zeros(3, 4, 5))"),
    ("bmm_inner_mismatch", "torch.bmm(torch.zeros(2, 3, 4), torch.zeros(2, 5, 6))"),
    ("bmm_not_3d", "torch.bmm(torch.zeros(3, 4), torch.zeros(4, 5))"),
    ("dot_size_mismatch", "torch.dot(torch.zeros(3), torch.zeros(4))"),
    ("dot_not_1d", "torch.dot(torch.zeros(2, 2), torch.zeros(2, 2))"),
    ("dot_dtype_mismatch", "torch.dot(torch.zeros(3), torch.zeros(3, dtype=torch.float64))"),
    ("cat_size_mismatch", "torch.cat([torch.zeros(2, 3), torch.zeros(2, 4)])"),
    ("cat_size_mismatch_dim1", "torch.cat([torch.zeros(2, 3), torch.zeros(3, 3)], dim=1)"),
    ("cat_rank_mismatch", "torch.cat([torch.zeros(2, 3), torch.zeros(3)])"),
    ("cat_empty_list", "torch.cat([])"),
    ("cat_dim_out_of_range", "torch.cat([torch.zeros(2, 3), torch.zeros(2, 3)], dim=2)"),
    ("stack_size_mismatch", "torch.stack([torch.zeros(2, 3), torch.zeros(2, 4)])"),
    ("view_invalid_size", "torch.zeros(2, 3).view(4)"),
    ("view_non_contiguous", "torch.zeros(2, 3).t().view(6)"),
    ("view_non_contiguous_transpose", "torch.zeros(2, 3, 4).transpose(0, 1).view(-1)"),
    ("view_two_inferred", "torch.zeros(2, 3).view(-1, -1)"),
    ("reshape_invalid_size", "torch.zeros(2, 3).reshape(4, 2)"),
    ("reshape_invalid_inferred", "torch.zeros(2, 3).reshape(-1, 4)"),
    ("reshape_two_inferred", "torch.zeros(2, 3).reshape(-1, -1)"),
    ("reshape_negative", "torch.zeros(2, 3).reshape(-2, 3)"),
    ("index_out_of_range", "torch.zeros(3)[5]"),
    ("index_negative_out_of_range", "torch.zeros(3)[-4]"),
    ("index_out_of_range_dim1", "torch.zeros(2, 3)[1, 3]"),
    ("index_too_many", "torch.zeros(2, 3)[0, 0, 0]"),
    ("index_zerodim", "torch.tensor(1.0)[0]"),
    ("index_tensor_out_of_range", "torch.zeros(3)[torch.tensor([0, 3])]"),
    ("dim_out_of_range_sum", "torch.zeros(2, 3).sum(dim=3)"),
    ("dim_out_of_range_negative", "torch.zeros(2, 3).sum(dim=-3)"),
    ("dim_repeated_sum", "torch.zeros(2, 3).sum(dim=[0, 0])"),
    ("dim_out_of_range_softmax", "torch.softmax(torch.zeros(2, 3), dim=2)"),
    ("dim_out_of_range_max", "torch.zeros(2, 3).max(dim=2)"),
    ("dim_out_of_range_transpose", "torch.zeros(2, 3).transpose(0, 2)"),
    ("dim_zerodim_sum", "torch.tensor(1.0).sum(dim=1)"),
    ("permute_wrong_length", "torch.zeros(2, 3).permute(1, 0, 2)"),
    ("permute_repeated", "torch.zeros(2, 3).permute(0, 0)"),
    ("mask_shape_mismatch", "torch.zeros(3, 4)[torch.ones(3, 3, dtype=torch.bool)]"),
    ("mask_shape_mismatch_dim0", "torch.zeros(3, 4)[torch.ones(2, dtype=torch.bool)]"),
    ("masked_fill_mask_mismatch",
     "torch.zeros(3, 4).masked_fill(torch.ones(3, 3, dtype=torch.bool), 0.0)"),
    ("masked_fill_float_mask", "torch.zeros(3).masked_fill(torch.ones(3), 0.0)"),
    ("masked_fill_tensor_value_not_zerodim",
     "torch.zeros(3).masked_fill(torch.ones(3, dtype=torch.bool), torch.ones(3))"),
    ("item_multi_element", "torch.zeros(3).item()"),
    ("item_empty", "torch.zeros(0).item()"),
    ("float_multi_element", "float(torch.zeros(3))"),
    ("bool_multi_element", "bool(torch.zeros(3))"),
    ("backward_non_scalar", "x = torch.ones(3, requires_grad=True)\n(x * 2).backward()"),
    ("backward_no_grad",
     "x = torch.ones(3)\nx.sum().backward()"),
    ("backward_no_grad_scalar_nonleaf",
     "x = torch.ones(3)\ny = (x * 2).sum()\ny.backward()"),
    ("backward_twice",
     "x = torch.ones(3, requires_grad=True)\ny = x.exp().sum()\ny.backward()\ny.backward()"),
    ("backward_twice_mul_tensors",
     "x = torch.ones(3, requires_grad=True)\ny = (x * x).sum()\ny.backward()\ny.backward()"),
    ("backward_twice_mul_scalar",
     "x = torch.ones(3, requires_grad=True)\ny = (x * 2).sum()\ny.backward()\ny.backward()"),
    ("backward_gradient_shape_mismatch",
     "x = torch.ones(3, requires_grad=True)\n(x * 2).backward(torch.ones(2))"),
    ("autograd_grad_unused",
     "x = torch.ones(3, requires_grad=True)\nz = torch.ones(3, requires_grad=True)\n"
     "torch.autograd.grad((x * 2).sum(), [x, z])"),
    ("inplace_leaf_iadd", "w = torch.ones(3, requires_grad=True)\nw += 1"),
    ("inplace_leaf_add_", "w = torch.ones(3, requires_grad=True)\nw.add_(1)"),
    ("inplace_leaf_setitem", "w = torch.ones(3, requires_grad=True)\nw[0] = 5.0"),
    ("inplace_leaf_zero_", "w = torch.ones(3, requires_grad=True)\nw.zero_()"),
    ("inplace_saved_tensor_exp",
     "x = torch.ones(3, requires_grad=True)\ny = x.exp()\ny.add_(1)\ny.sum().backward()"),
    ("inplace_saved_tensor_twice",
     "x = torch.ones(3, requires_grad=True)\ny = x.exp()\ny.add_(1)\ny.mul_(2)\ny.sum().backward()"),
    ("inplace_saved_input_mul",
     "x = torch.ones(2, 3, requires_grad=True)\na = x * 1\nb = a * a\na.add_(1)\nb.sum().backward()"),
    ("inplace_saved_sigmoid",
     "x = torch.ones(3, requires_grad=True)\ny = torch.sigmoid(x)\ny.mul_(2)\ny.sum().backward()"),
    ("inplace_dtype_mismatch", "t = torch.ones(3, dtype=torch.int64)\nt += torch.ones(3)"),
    ("inplace_int_add_float_scalar", "t = torch.ones(3, dtype=torch.int64)\nt.add_(2.5)"),
    ("inplace_broadcast_output_shape", "t = torch.ones(3)\nt += torch.ones(2, 3)"),
    ("inplace_exp_int", "torch.arange(3).exp_()"),
    ("inplace_sqrt_int", "torch.arange(3).sqrt_()"),
    ("inplace_neg_bool", "torch.tensor([True, False]).neg_()"),
    ("inplace_exp_twice_saved_result",
     "y = torch.ones(3, requires_grad=True).clone()\ny.exp_()\ny.exp_()\ny.sum().backward()"),
    ("inplace_tanh_after_sin_saved_input",
     "y = torch.ones(3, requires_grad=True).clone()\nz = y.sin()\ny.tanh_()\nz.sum().backward()"),
    ("relu_bool", "torch.tensor([True, False]).relu()"),
    ("relu_bool_in_place", "torch.tensor([True, False]).relu_()"),
    ("abs_bool", "torch.tensor([True, False]).abs()"),
    ("abs_bool_in_place", "torch.tensor([True, False]).abs_()"),
    ("inplace_leaf_relu_", "w = torch.ones(3, requires_grad=True)\nw.relu_()"),
    ("expanded_add_", "torch.zeros(3).expand(2, 3).add_(1)"),
    ("expanded_mul_", "torch.zeros(3).expand(2, 3).mul_(2)"),
    ("expanded_exp_", "torch.zeros(3).expand(2, 3).exp_()"),
    ("expanded_relu_", "torch.zeros(3).expand(2, 3).relu_()"),
    ("expanded_clamp_", "torch.zeros(3).expand(2, 3).clamp_(min=0)"),
    ("expanded_copy_", "torch.zeros(3).expand(2, 3).copy_(torch.ones(2, 3))"),
    ("expanded_normal_", "torch.zeros(3).expand(2, 3).normal_()"),
    ("expanded_fill_", "torch.zeros(3).expand(2, 3).fill_(1)"),
    # Which refusal comes first: autograd's, then the written tensor's layout, shapes, dtypes.
    ("expanded_exp_int", "torch.zeros(3, dtype=torch.long).expand(2, 3).exp_()"),
    ("expanded_abs_bool", "torch.zeros(3, dtype=torch.bool).expand(2, 3).abs_()"),
    ("expanded_relu_bool", "torch.zeros(3, dtype=torch.bool).expand(2, 3).relu_()"),
    ("expanded_leaf_view_exp_", "torch.zeros(3, requires_grad=True).expand(2, 3).exp_()"),
    ("expanded_add_int_float", "torch.zeros(3, dtype=torch.long).expand(2, 3).add_(1.5)"),
    ("inplace_shape_before_dtype", "torch.ones(3, dtype=torch.long).add_(torch.ones(2, 3))"),
    ("inplace_leaf_before_shape", "torch.ones(3, requires_grad=True).add_(torch.ones(2, 3))"),
    ("numpy_requires_grad", "torch.ones(3, requires_grad=True).numpy()"),
    ("float_tensor_as_index", "torch.zeros(3)[torch.tensor([0.0, 1.0])]"),
    ("float_tensor_index_select", "torch.index_select(torch.zeros(3), 0, torch.tensor([0.0]))"),
    ("gather_int32_index", "torch.gather(torch.zeros(2, 2), 1, torch.tensor([[0], [1]], dtype=torch.int32))"),
    ("gather_index_out_of_range", "torch.gather(torch.zeros(2, 2), 1, torch.tensor([[0], [2]]))"),
    ("gather_rank_mismatch", "torch.gather(torch.zeros(2, 2), 1, torch.tensor([0, 1]))"),
    ("index_select_out_of_range", "torch.index_select(torch.zeros(3), 0, torch.tensor([3]))"),
    ("scatter_index_out_of_range", "torch.zeros(3).scatter(0, torch.tensor([5]), 1.0)"),
    ("index_select_negative_index", "torch.index_select(torch.zeros(3), 0, torch.tensor([-1]))"),
    ("index_tensor_negative_out_of_range", "torch.zeros(3)[torch.tensor([-4])]"),
    ("index_put_out_of_range", "t = torch.zeros(3)\nt[torch.tensor([3])] = 1.0"),
    ("index_add_out_of_range", "torch.zeros(3, 4).index_add(0, torch.tensor([5]), torch.ones(1, 4))"),
    ("index_add_negative_index", "torch.zeros(3, 4).index_add(0, torch.tensor([-1]), torch.ones(1, 4))"),
    ("index_add_count_mismatch", "torch.zeros(3, 4).index_add(0, torch.tensor([0, 1]), torch.ones(1, 4))"),
    ("index_add_dtype_mismatch", "torch.zeros(3, 4).index_add(0, torch.tensor([0]), torch.ones(1, 4, dtype=torch.float64))"),
    ("index_add_slice_shape", "torch.zeros(3, 4).index_add(0, torch.tensor([0]), torch.ones(1, 3))"),
    ("index_add_matrix_index", "torch.zeros(3, 4).index_add(0, torch.tensor([[0]]), torch.ones(1, 4))"),
    ("index_add_float_index", "torch.zeros(3, 4).index_add(0, torch.tensor([0.0]), torch.ones(1, 4))"),
    ("gather_index_larger_than_self", "torch.zeros(3, 3).gather(1, torch.zeros(4, 2, dtype=torch.long))"),
    ("scatter_index_larger_than_src",
     "torch.zeros(3, 3).scatter(1, torch.zeros(2, 2, dtype=torch.long), torch.ones(1, 2))"),
    ("scatter_value_index_larger_than_self", "torch.zeros(3, 3).scatter(1, torch.zeros(4, 2, dtype=torch.long), 1.0)"),
    ("scatter_add_src_rank_mismatch",
     "torch.zeros(3, 3).scatter_add(1, torch.zeros(2, 2, dtype=torch.long), torch.ones(2, 2, 2))"),
    ("expand_invalid", "torch.zeros(2, 3).expand(4, 3)"),
    ("expand_fewer_dims", "torch.zeros(2, 3).expand(3)"),
    ("expand_negative_new_dim", "torch.zeros(3).expand(-1, 3)"),
    ("squeeze_dim_out_of_range", "torch.zeros(2, 3).squeeze(5)"),
    ("unsqueeze_dim_out_of_range", "torch.zeros(2, 3).unsqueeze(4)"),
    ("unsqueeze_dim_out_of_range_negative", "torch.zeros(2, 3).unsqueeze(-4)"),
    ("randint_low_ge_high", "torch.randint(5, 5, (3,))"),
    ("randint_low_gt_high", "torch.randint(5, 2, (3,))"),
    ("randn_negative_size", "torch.randn(-1)"),
    ("int_pow_negative_int", "torch.tensor([1, 2, 3]) ** -1"),
    ("int_pow_negative_int_function", "torch.pow(torch.tensor([1, 2, 3]), -2)"),
    ("requires_grad_int_tensor", "torch.tensor([1, 2, 3]).requires_grad_()"),
    ("requires_grad_int_constructor", "torch.tensor([1, 2, 3], requires_grad=True)"),
    ("requires_grad_int_zeros", "torch.zeros(3, dtype=torch.int64, requires_grad=True)"),
    ("requires_grad_set_attr_int", "t = torch.tensor([1, 2, 3])\nt.requires_grad = True"),
    ("requires_grad_nonleaf_false",
     "x = torch.ones(3, requires_grad=True)\ny = x * 2\ny.requires_grad = False"),
    ("sub_bool_bool", "torch.tensor([True]) - torch.tensor([False])"),
    ("sub_bool_int", "torch.tensor([True]) - torch.tensor([1])"),
    ("neg_bool", "-torch.tensor([True, False])"),
    ("mean_int", "torch.tensor([1, 2, 3]).mean()"),
    ("std_int", "torch.tensor([1, 2, 3]).std()"),
    ("softmax_int", "torch.softmax(torch.tensor([1, 2, 3]), dim=0)"),
    ("max_empty", "torch.zeros(0).max()"),
    ("argmax_empty", "torch.zeros(0).argmax()"),
    ("split_sizes_mismatch", "torch.zeros(6).split([2, 3])"),
    ("split_size_zero", "torch.zeros(6).split(0)"),
    ("chunk_zero", "torch.zeros(6).chunk(0)"),
    ("narrow_out_of_range", "torch.zeros(5).narrow(0, 3, 3)"),
    ("arange_zero_step", "torch.arange(0, 5, 0)"),
    ("arange_wrong_sign", "torch.arange(0, 5, -1)"),
    ("linspace_negative_steps", "torch.linspace(0, 1, -1)"),
    ("eye_negative", "torch.eye(-1)"),
    ("full_negative_size", "torch.full((-1, 2), 1.0)"),
    ("where_float_condition", "torch.where(torch.ones(3), torch.ones(3), torch.zeros(3))"),
    ("where_broadcast_mismatch",
     "torch.where(torch.ones(3, dtype=torch.bool), torch.ones(2), torch.zeros(3))"),
    ("clamp_no_bounds", "torch.clamp(torch.ones(3))"),
    ("clamp_tensor_bounds_bool",
     "torch.clamp(torch.ones(3, dtype=torch.bool), torch.ones(3, dtype=torch.bool), torch.ones(3, dtype=torch.bool))"),
    ("clamp_tensor_bounds_mismatch", "torch.clamp(torch.ones(3), torch.ones(2), torch.ones(3))"),
    ("logical_and_size_mismatch", "torch.logical_and(torch.ones(2, dtype=torch.bool), torch.ones(3, dtype=torch.bool))"),
    ("div_int_zero_floor", "torch.div(torch.tensor([1]), torch.tensor([0]), rounding_mode='floor')"),
    ("tensor_ragged", "torch.tensor([[1, 2], [3]])"),
    ("to_unknown_dtype", "torch.ones(3).to('int99')"),
    ("multinomial_negative", "torch.multinomial(torch.tensor([1.0, -1.0]), 1)"),
    ("set_num_threads_zero", "torch.set_num_threads(0)"),
    ("set_num_threads_negative", "torch.set_num_threads(-3)"),
    ("add_inplace_alpha_float_for_integers", "torch.tensor([1, 2]).add_(torch.tensor([1, 2]), alpha=2.5)"),
    ("sub_inplace_alpha_float_for_integers", "torch.tensor([1, 2]).sub_(torch.tensor([1, 2]), alpha=0.5)"),
    ("add_inplace_alpha_cast_first", "torch.tensor([1, 2]).add_(torch.tensor([1.0, 2.0]), alpha=2.5)"),
]


def record_errors():
    out = []
    ids = set()
    for id, code in ERRORS:
        assert id not in ids, id
        ids.add(id)
        torch.manual_seed(0)
        env = {"torch": torch}
        case = {"id": id, "expr": code}
        try:
            exec(code, env)
        except Exception as e:  # noqa: BLE001
            case["type"] = type(e).__name__
            case["message"] = str(e)
        else:
            case["type"] = None
            case["message"] = None
        out.append(case)
    return out


# ----------------------------------------------------------------------------------------------
# grads_extra.json


class Grads:
    def __init__(self):
        self.cases = []
        self.ids = set()
        self.gen = torch.Generator().manual_seed(7)

    def randn(self, *shape):
        return torch.randn(tuple(shape), generator=self.gen, dtype=torch.float64)

    def add(self, id, op, expr, inputs, args=None, double=False, note=None, dtype=torch.float64):
        assert id not in self.ids, id
        self.ids.add(id)
        args = args or {}
        leaves = [t.detach().clone().to(dtype).requires_grad_(True) for t in inputs]
        env = {"torch": torch}
        for name, t in zip("abcdefgh", leaves):
            env[name] = t
        for k, v in args.items():
            env[k] = dec_arg(v)
        result = eval(expr, env)
        case = {"id": id, "op": op, "expr": expr, "args": {k: enc_arg(v) for k, v in args.items()},
                "inputs": [tj(t) for t in leaves]}
        indices = None
        if isinstance(result, torch.Tensor):
            outs = [result]
        elif hasattr(result, "indices") and hasattr(result, "values"):
            outs = [result.values]
            indices = result.indices
        else:
            outs = list(result)
        cots = [self.randn(*o.shape).to(o.dtype) for o in outs]
        grads = torch.autograd.grad(outs, leaves, cots, allow_unused=True, create_graph=double,
                                    materialize_grads=True)
        if len(outs) == 1 and not isinstance(result, (tuple, list)) or indices is not None:
            case["output"] = tj(outs[0])
            case["cotangent"] = tj(cots[0])
        else:
            case["outputs"] = [tj(o) for o in outs]
            case["cotangents"] = [tj(c) for c in cots]
        if indices is not None:
            case["indices"] = tj(indices)
        case["grads"] = [tj(gr) for gr in grads]
        case["grad_fn"] = outs[0].grad_fn.name()
        if double:
            second = [self.randn(*l.shape) for l in leaves]
            gg = torch.autograd.grad(grads, leaves, second, allow_unused=True, materialize_grads=True)
            case["second_cotangent"] = [tj(s) for s in second]
            case["grad_grads"] = [tj(x) for x in gg]
        if note:
            case["note"] = note
        self.cases.append(case)


def record_grads():
    G = Grads()
    r = G.randn
    pos = lambda *s: r(*s).abs() + 0.5  # noqa: E731
    D = lambda v, shape=None: T(v, "float64", shape)  # noqa: E731

    G.add("rsqrt", "rsqrt", "torch.rsqrt(a)", [pos(6)], double=True)
    G.add("sin", "sin", "torch.sin(a)", [r(3, 4)], double=True)
    G.add("cos", "cos", "torch.cos(a)", [r(3, 4)], double=True)
    G.add("sign", "sign", "torch.sign(a)", [r(5)], note="the gradient of sign is zero")
    G.add("prod_all", "prod", "torch.prod(a)", [r(2, 3)])
    G.add("prod_all_one_zero", "prod", "torch.prod(a)", [D([1.5, -2.0, 0.0, 0.5, 3.0])],
          note="exactly one zero: its gradient is the product of the others, the rest are zero")
    G.add("prod_all_two_zeros", "prod", "torch.prod(a)", [D([1.5, 0.0, 0.0, 3.0])])
    G.add("prod_dim", "prod", "torch.prod(a, dim=dim)", [r(3, 4)], {"dim": 1})
    G.add("prod_dim_one_zero", "prod", "torch.prod(a, dim=dim, keepdim=keepdim)",
          [D([[1.5, -2.0, 0.0], [0.5, 3.0, -1.0]])], {"dim": 1, "keepdim": True})
    G.add("max_all", "max", "torch.max(a)", [r(3, 4)])
    G.add("max_all_ties", "max", "torch.max(a)", [D([[1.0, 3.0], [3.0, -2.0], [0.5, 3.0]])],
          note="ties share the gradient evenly")
    G.add("min_all", "min", "torch.min(a)", [r(3, 4)])
    G.add("min_all_ties", "min", "torch.min(a)", [D([-1.0, 2.0, -1.0, 0.0])])
    G.add("amin_dim", "amin", "torch.amin(a, dim=dim)", [r(3, 4)], {"dim": 0})
    G.add("amin_ties", "amin", "torch.amin(a, dim=dim)", [D([[1.0, 1.0, 2.0], [0.0, 5.0, 0.0]])],
          {"dim": 1}, note="ties share the gradient evenly")
    G.add("amax_dims_keepdim", "amax", "torch.amax(a, dim=dim, keepdim=keepdim)", [r(2, 3, 4)],
          {"dim": [0, 2], "keepdim": True})
    G.add("min_dim", "min", "torch.min(a, dim=dim)", [r(3, 5)], {"dim": 1})
    G.add("min_dim_keepdim", "min", "torch.min(a, dim=dim, keepdim=keepdim)", [r(4, 3)],
          {"dim": 0, "keepdim": True})
    G.add("min_dim_ties", "min", "torch.min(a, dim=dim)", [D([[1.0, -1.0, -1.0], [2.0, 2.0, 3.0]])],
          {"dim": 1}, note="ties: the whole gradient goes to the returned (first) index")
    G.add("max_dim_ties", "max", "torch.max(a, dim=dim)", [D([[1.0, 4.0, 4.0], [2.0, 2.0, 3.0]])],
          {"dim": 1})
    G.add("maximum", "maximum", "torch.maximum(a, b)", [r(3, 4), r(3, 4)])
    G.add("maximum_ties", "maximum", "torch.maximum(a, b)", [D([1.0, 2.0, -3.0, 0.5]), D([1.0, 1.0, -3.0, 4.0])],
          note="ties: each side gets half")
    G.add("minimum_ties", "minimum", "torch.minimum(a, b)", [D([1.0, 2.0, -3.0, 0.5]), D([1.0, 1.0, -3.0, 4.0])])
    G.add("maximum_broadcast", "maximum", "torch.maximum(a, b)", [r(3, 1), r(4)])
    G.add("logsumexp_dim", "logsumexp", "torch.logsumexp(a, dim=dim)", [r(3, 4)], {"dim": 1})
    G.add("logsumexp_dims_keepdim", "logsumexp", "torch.logsumexp(a, dim=dim, keepdim=keepdim)", [r(2, 3, 4)],
          {"dim": [0, -1], "keepdim": True})
    G.add("var_dim_correction0", "var", "torch.var(a, dim=dim, correction=correction)", [r(4, 5)],
          {"dim": 1, "correction": 0})
    G.add("var_dim_keepdim", "var", "torch.var(a, dim=dim, keepdim=keepdim)", [r(4, 5)],
          {"dim": 0, "keepdim": True})
    G.add("std_all_correction0", "std", "torch.std(a, correction=correction)", [r(6)], {"correction": 0})
    G.add("clamp_max_only", "clamp", "torch.clamp(a, max=max)", [D([-1.0, 0.25, 0.5, 0.75, 2.0])],
          {"max": S(0.5)}, note="the element equal to max gets the gradient (inclusive bound)")
    G.add("clamp_min_only_boundary", "clamp", "torch.clamp(a, min=min)", [D([-1.0, -0.5, 0.0, 0.5])],
          {"min": S(-0.5)})
    G.add("pow_tensor_exponent", "pow", "torch.pow(a, b)", [pos(5), r(5)])
    G.add("pow_tensor_exponent_broadcast", "pow", "torch.pow(a, b)", [pos(3, 1), r(4)])
    G.add("rpow", "rpow", "other ** a", [r(5)], {"other": S(2.0)})
    G.add("rpow_int_base", "rpow", "other ** a", [r(4)], {"other": S(3)})
    G.add("pow_scalar_zero_base", "pow", "a ** exponent", [D([0.0, 1.0, -2.0])], {"exponent": S(2.0)},
          note="exact zero base with exponent 2: gradient 0")
    G.add("matmul_1d_1d", "matmul", "torch.matmul(a, b)", [r(4), r(4)])
    G.add("matmul_1d_2d", "matmul", "torch.matmul(a, b)", [r(4), r(4, 3)])
    G.add("matmul_2d_3d", "matmul", "torch.matmul(a, b)", [r(3, 4), r(2, 4, 5)])
    G.add("matmul_4d_3d", "matmul", "torch.matmul(a, b)", [r(2, 1, 3, 4), r(5, 4, 2)])
    G.add("matmul_3d_1d", "matmul", "torch.matmul(a, b)", [r(2, 3, 4), r(4)])
    G.add("matmul_1d_3d", "matmul", "torch.matmul(a, b)", [r(4), r(2, 4, 5)])
    G.add("matmul_3d_3d_broadcast", "matmul", "torch.matmul(a, b)", [r(1, 3, 4), r(2, 4, 2)])
    G.add("gather", "gather", "torch.gather(a, dim, index)", [r(3, 4)],
          {"dim": 1, "index": T([[0, 0, 3], [1, 2, 1], [3, 3, 3]], "int64")},
          note="repeated indices accumulate")
    G.add("gather_dim0", "gather", "torch.gather(a, dim, index)", [r(3, 2)],
          {"dim": 0, "index": T([[2, 0], [2, 1]], "int64")})
    G.add("scatter_src", "scatter", "torch.scatter(a, dim, index, b)", [r(3, 4), r(2, 4)],
          {"dim": 0, "index": T([[0, 1, 2, 0], [2, 0, 1, 1]], "int64")},
          note="unique target positions; grads: a gets zeros where overwritten, b gathers")
    G.add("scatter_value", "scatter", "torch.scatter(a, dim, index, value)", [r(3, 4)],
          {"dim": 1, "index": T([[0], [3], [1]], "int64"), "value": S(2.0)})
    G.add("scatter_add", "scatter_add", "torch.scatter_add(a, dim, index, b)", [r(2, 3), r(2, 3)],
          {"dim": 1, "index": T([[0, 0, 2], [1, 1, 1]], "int64")})
    G.add("index_select", "index_select", "torch.index_select(a, dim, index)", [r(4, 3)],
          {"dim": 0, "index": T([3, 0, 3], "int64")}, note="repeated indices accumulate")
    G.add("index_select_dim1", "index_select", "torch.index_select(a, dim, index)", [r(2, 4)],
          {"dim": 1, "index": T([1, 2], "int64")})
    G.add("masked_fill", "masked_fill", "torch.masked_fill(a, mask, value)", [r(3, 4)],
          {"mask": T([[True, False, False, True], [False, False, False, False], [True, True, False, False]],
                     "bool"), "value": S(-1.0)})
    G.add("masked_fill_broadcast", "masked_fill", "torch.masked_fill(a, mask, value)", [r(3, 4)],
          {"mask": T([[False], [True], [False]], "bool"), "value": S(0.0)})
    G.add("split", "split", "torch.split(a, split_size, dim=dim)", [r(5, 3)], {"split_size": 2, "dim": 0})
    G.add("split_list", "split", "torch.split(a, split_size, dim=dim)", [r(2, 6)],
          {"split_size": [1, 3, 2], "dim": 1})
    G.add("split_one_piece", "split", "torch.split(a, split_size, dim=dim)[1]", [r(5, 3)],
          {"split_size": 2, "dim": 0}, note="only piece 1 is used: the other rows get zero gradient")
    G.add("chunk", "chunk", "torch.chunk(a, chunks, dim=dim)", [r(3, 5)], {"chunks": 3, "dim": 1})
    G.add("narrow", "narrow", "torch.narrow(a, dim, start, length)", [r(4, 5)], {"dim": 1, "start": 1, "length": 3})
    G.add("slice_step", "index", "a[::2]", [r(5, 2)])
    G.add("slice_step_dim1", "index", "a[:, 1::2]", [r(2, 5)])
    G.add("select_int", "select", "a[1]", [r(3, 4)])
    G.add("select_negative", "select", "a[:, -1]", [r(3, 4)])
    G.add("mask_get", "index", "a[mask]", [r(3, 4)],
          {"mask": T([[True, False, False, True], [False, False, False, False], [True, True, False, False]],
                     "bool")})
    G.add("mask_get_rows", "index", "a[mask]", [r(3, 4)], {"mask": T([True, False, True], "bool")})
    G.add("index_tensor_repeated", "index", "a[index]", [r(4)], {"index": T([0, 2, 0, 0], "int64")})
    G.add("where_scalar", "where", "torch.where(mask, a, other)", [r(3, 4)],
          {"mask": T([[True, False, False, True], [False, True, True, False], [True, True, False, False]], "bool"),
           "other": S(0.0)})
    G.add("where_scalar_first", "where", "torch.where(mask, other, a)", [r(4)],
          {"mask": T([True, False, True, False], "bool"), "other": S(1.5)})
    G.add("where_broadcast", "where", "torch.where(mask, a, b)", [r(1, 4), r(3, 1)],
          {"mask": T([[True, False, False, True], [False, True, True, False], [True, True, False, False]], "bool")})
    G.add("expand_zerodim", "expand", "a.expand(size)", [r()], {"size": [2, 3]})
    G.add("expand_new_dims", "expand", "a.expand(size)", [r(3, 1)], {"size": [2, 3, 4]})
    G.add("div_scalar", "div", "a / other", [r(3, 2)], {"other": S(4.0)})
    G.add("div_int_scalar", "div", "a / other", [r(3)], {"other": S(3)})
    G.add("rdiv", "rdiv", "other / a", [pos(5)], {"other": S(2.0)}, double=True)
    G.add("rsub", "rsub", "other - a", [r(3)], {"other": S(1.0)})
    G.add("sub_alpha", "sub", "torch.sub(a, b, alpha=alpha)", [r(3, 2), r(2)], {"alpha": S(2.5)})
    G.add("add_alpha", "add", "torch.add(a, b, alpha=alpha)", [r(3), r(3)], {"alpha": S(-3)})
    G.add("mul_scalar", "mul", "a * other", [r(4)], {"other": S(-1.5)})
    G.add("reshape_non_contiguous", "reshape", "a.t().reshape(shape)", [r(2, 3)], {"shape": [2, 3]},
          note="a.t() is not contiguous, so reshape copies")
    G.add("reshape_non_contiguous_flat", "reshape", "a.transpose(0, 2).reshape(shape)", [r(2, 3, 2)],
          {"shape": [-1]})
    G.add("contiguous_after_permute", "contiguous", "a.permute(1, 0).contiguous()", [r(2, 3)])
    G.add("flatten", "flatten", "torch.flatten(a, start_dim=start_dim)", [r(2, 3, 2)], {"start_dim": 1})
    G.add("mean_dims", "mean", "torch.mean(a, dim=dim)", [r(2, 3, 4)], {"dim": [0, 2]})
    G.add("mean_dims_keepdim_negative", "mean", "torch.mean(a, dim=dim, keepdim=keepdim)", [r(2, 3, 4)],
          {"dim": [-1, -2], "keepdim": True})
    G.add("sum_dims", "sum", "torch.sum(a, dim=dim)", [r(2, 3, 4)], {"dim": [0, 2]})
    G.add("sum_dims_keepdim", "sum", "torch.sum(a, dim=dim, keepdim=keepdim)", [r(2, 3, 4)],
          {"dim": [1, -1], "keepdim": True})
    G.add("abs_with_zero", "abs", "torch.abs(a)", [D([-1.5, 0.0, 2.0, -0.0])],
          note="the gradient of abs at exactly 0 (and -0.0) is 0")
    G.add("abs_no_zero", "abs", "torch.abs(a)", [r(6)])
    G.add("relu_with_zero", "relu", "torch.relu(a)", [D([-1.0, 0.0, 0.5, -0.0, 2.0])],
          note="the gradient of relu at exactly 0 is 0")
    G.add("sigmoid_double", "sigmoid", "torch.sigmoid(a)", [r(6)], double=True)
    G.add("tanh_double", "tanh", "torch.tanh(a)", [r(6)], double=True)
    G.add("exp_double", "exp", "torch.exp(a)", [r(4)], double=True)
    G.add("log_double", "log", "torch.log(a)", [pos(4)], double=True)
    G.add("mul_double", "mul", "a * b", [r(4), r(4)], double=True,
          note="grad_grads: d<grads, second_cotangent>/d(a, b), cotangent fixed")
    G.add("pow_double", "pow", "a ** exponent", [r(4)], {"exponent": S(3)}, double=True)
    G.add("softmax_double", "softmax", "torch.softmax(a, dim=dim)", [r(2, 3)], {"dim": 1}, double=True)
    G.add("sum_squares_double", "sum", "(a * a).sum()", [r(3)], double=True)
    G.add("cat_neg_dim", "cat", "torch.cat([a, b], dim=dim)", [r(2, 2), r(2, 3)], {"dim": -1})
    G.add("stack_neg_dim", "stack", "torch.stack([a, b], dim=dim)", [r(2, 3), r(2, 3)], {"dim": -1})
    G.add("unbind", "unbind", "torch.unbind(a, dim=dim)", [r(3, 2)], {"dim": 0})
    G.add("same_input_twice", "mul", "a * a + a", [r(4)], note="gradient accumulates across uses")
    # Ties: an element equal to one bound shares the gradient with it; equal to both, it keeps
    # it; a lower bound above the upper one gives the upper bound everything.
    ties = [(0., 0., 1.), (1., 0., 1.), (0.5, 0.5, 0.5), (0.5, 1., 0.), (0., 1., 0.), (2., 1., 0.), (-1., 0., 0.),
            (1., 0., 0.), (0.5, 0., 1.), (-1., 0., 1.), (2., 0., 1.)]
    G.add("clamp_tensor_bounds_ties", "clamp", "torch.clamp(a, min=b, max=c)",
          [D([t[0] for t in ties]), D([t[1] for t in ties]), D([t[2] for t in ties])])
    G.add("clamp_tensor_bounds_broadcast", "clamp", "torch.clamp(a, min=b, max=c)", [r(3, 4), r(4), r(3, 1)])
    G.add("clamp_min_tensor_ties", "clamp_min", "torch.clamp_min(a, b)",
          [D([-1.0, 1.0, 0.0, 0.5]), D([0.0, 0.0, 0.0, 1.0])])
    G.add("clamp_max_tensor_broadcast", "clamp_max", "torch.clamp_max(a, b)", [r(3, 4), D([0.0, 0.5, -0.5, 0.0])])
    G.add("clamp_min_tensor_broadcast", "clamp_min", "torch.clamp_min(a, b)", [r(3, 4), r(3, 1)])
    G.add("index_add", "index_add", "torch.index_add(a, dim, index, b)", [r(4, 3), r(4, 2)],
          {"dim": 1, "index": T([2, 0], "int64")})
    G.add("index_add_repeated", "index_add", "torch.index_add(a, dim, index, b)", [r(3, 2), r(4, 2)],
          {"dim": 0, "index": T([1, 1, 0, 1], "int64")}, note="repeated indices add up; b's gradient gathers")
    G.add("index_tensor_negative", "index", "a[index]", [r(5)], {"index": T([-1, 0, -1], "int64")},
          note="negative indices count from the end, repeats accumulate")
    # In place: the same derivatives, recorded on a clone of the leaf (ExpBackward0 and so on).
    for name, make in [("exp", r), ("log", pos), ("sqrt", pos), ("rsqrt", pos), ("reciprocal", pos), ("sin", r),
                       ("cos", r), ("tanh", r), ("sigmoid", r), ("abs", r), ("sign", r), ("relu", r), ("neg", r)]:
        G.add(f"{name}_in_place", f"{name}_", f"a.clone().{name}_()", [make(2, 3)], double=name not in ("sign", "relu", "abs", "neg"))
    G.add("mul_in_place", "mul_", "a.clone().mul_(b)", [r(2, 3), r(2, 3)], double=True)
    G.add("div_in_place", "div_", "a.clone().div_(b)", [r(2, 3), pos(2, 3)], double=True)
    return G.cases


# ----------------------------------------------------------------------------------------------


def record_float32_grads():
    """float32 gradients, which Ember must give bit for bit wherever its forward values are
    PyTorch's (its exp and log may differ from SLEEF's by an ulp): each backward formula rounds
    in PyTorch's order (sigmoid's g·(1 - y)·y, division's -g·((a / b) / b), ...). 48 elements a
    case, where a formula grouped otherwise differs in about a third of them."""
    G = Grads()
    f32 = torch.float32
    pos = lambda: G.randn(48).abs() + 0.5  # noqa: E731
    G.add("sigmoid_f32", "sigmoid", "torch.sigmoid(a)", [G.randn(48)], dtype=f32)
    G.add("div_f32", "div", "a / b", [G.randn(48), pos()], dtype=f32)
    G.add("rpow_f32", "rpow", "other ** a", [G.randn(48)], {"other": S(2.5)}, dtype=f32)
    G.add("pow_scalar_f32", "pow", "a ** exponent", [pos()], {"exponent": S(3)}, dtype=f32)
    G.add("exp_f32", "exp", "torch.exp(a)", [G.randn(48)], dtype=f32)
    G.add("log_f32", "log", "torch.log(a)", [pos()], dtype=f32)
    G.add("rsqrt_f32", "rsqrt", "torch.rsqrt(a)", [pos()], dtype=f32)
    G.add("mul_f32", "mul", "a * b", [G.randn(48), G.randn(48)], dtype=f32)
    G.add("sub_alpha_f32", "sub", "torch.sub(a, b, alpha=alpha)", [G.randn(48), G.randn(48)], {"alpha": S(0.3)}, dtype=f32)
    G.add("mean_f32", "mean", "torch.mean(a, dim=dim)", [G.randn(6, 8)], {"dim": 1}, dtype=f32)
    G.add("tanh_f32", "tanh", "torch.tanh(a)", [G.randn(48)], dtype=f32)
    G.add("sqrt_f32", "sqrt", "torch.sqrt(a)", [pos()], dtype=f32)
    # Multiples of 0.25, whose means are exact: Ember sums float32 in double, PyTorch in float32.
    G.add("var_f32", "var", "torch.var(a, dim=dim, keepdim=keepdim)", [quarters((6, 8), G.gen)],
          {"dim": 1, "keepdim": False}, dtype=f32)
    G.add("std_f32", "std", "torch.std(a, dim=dim, keepdim=keepdim)", [quarters((6, 8), G.gen)],
          {"dim": 1, "keepdim": True}, dtype=f32)
    G.add("maximum_f32", "maximum", "torch.maximum(a, b)", [G.randn(48), G.randn(48)], dtype=f32)
    G.add("clamp_f32", "clamp", "torch.clamp(a, min=min)", [G.randn(48)], {"min": S(0.1)}, dtype=f32)
    return G.cases


def main():
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)
    import warnings
    warnings.simplefilter("ignore")
    results = [
        write_json("ops_forward.json", record_forward()),
        write_json("promotion.json", record_promotion()),
        write_json("errors.json", record_errors()),
        write_json("grads_extra.json", record_grads()),
        write_json("grads_float32.json", record_float32_grads()),
    ]
    print(f"torch {torch.__version__}")
    for path, size in results:
        data = json.loads(path.read_text())
        n = len(data["cases"]) if isinstance(data, dict) else len(data)
        print(f"{path.relative_to(ROOT)}: {n} cases, {size / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
