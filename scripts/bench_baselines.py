#!/usr/bin/env python3
"""NumPy (CPU), PyTorch and CuPy (GPU) on the shapes of ferrite's benchmark, in one table.

Best, NumPy takes turns with ferrite inside the benchmark (this script's `--serve` mode),
and this script then adds PyTorch and CuPy:

    cargo run --release --bin bench -- --numpy --json /tmp/ferrite.json
    python3 scripts/bench_baselines.py /tmp/ferrite.json --json /tmp/merged.json

Given a JSON without NumPy's times, it measures NumPy itself, after the benchmark: a noisy
machine then moves the ratio.

It needs only Python 3 and NumPy. Without a system NumPy:

    python3 -m pip install --target /tmp/pynp numpy
    PYTHONPATH=/tmp/pynp python3 scripts/bench_baselines.py /tmp/ferrite.json

On a GPU machine, PyTorch and CuPy are imported when present (each is skipped, with a note,
when it is not) and timed with CUDA events on ferrite's GPU rows, or on the default GPU shapes
if the JSON has none. `--quick` takes fewer runs. Every time is the median of many runs after
a warm-up; the table gives each library's time and ferrite's speedup against it (above 1:
ferrite is faster).
"""

import argparse
import json
import os
import statistics
import sys
import time

# Variables some machines set that pin OpenBLAS to a slower kernel or cache model: with
# OPENBLAS_CORETYPE=Haswell and OPENBLAS_L2_SIZE, NumPy's matmul runs at about half speed on
# AVX-512 CPUs. OpenBLAS reads them once, when NumPy loads it, so they leave this process's
# environment before NumPy is imported (`bench --numpy` also starts this script without them).
UNFAIR_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REMOVED_ENV = {k: os.environ.pop(k) for k in UNFAIR_ENV if k in os.environ}

try:
    import numpy as np
except ImportError:
    sys.exit(
        "bench_baselines.py needs NumPy: python3 -m pip install numpy "
        "(or: python3 -m pip install --target /tmp/pynp numpy, then PYTHONPATH=/tmp/pynp)"
    )

# The CPU rows of `bench` (host/src/bin/bench/cpu.rs and train.rs) and the GPU shapes: softmax
# over rows of 1k..32k values (2^26 values in all), matmul at 4096, sqrt over 2^26 values, and
# the training step. Shapes are `MxKxN` (matmul), `ROWSxCOLS` (softmax) and `N` (sqrt).
CPU_ROWS = [("matmul", f"{n}x{n}x{n}", "f32") for n in (512, 1024, 2048)] + [
    ("softmax", "4096x1000", "f32"),
    ("sqrt_into", "10000000", "f32"),
    ("copy", "10000000", "f32"),
    ("concatenate", "10000000", "f32"),
    ("a + b", "10000000", "f32"),
    ("exp", "10000000", "f32"),
    ("x - row", "4096x2500", "f32"),
    ("sum(axis=0)", "4096x2500", "f32"),
    ("sum(axis=1)", "4096x2500", "f32"),
    ("argmax(axis=1)", "4096x2500", "f32"),
    ("t().contiguous()", "4096x2500", "f32"),
    ("index_select(axis=0)", "4096x2500", "f32"),
    ("argsort", "10000000", "f32"),
    ("train step", "100-64-10, batch 32", "f32"),
]
GPU_ROWS = (
    [("softmax", f"{(1 << 26) // c}x{c}", "f32") for c in (1024, 2048, 4096, 8192, 16384, 28672, 32768)]
    + [("matmul", "4096x4096x4096", d) for d in ("f32", "tf32", "bf16")]
    + [("sqrt_into", str(1 << 26), "f32"), ("exp", str(1 << 26), "f32"), ("a + b", str(1 << 26), "f32")]
    + [(op, "8192x8192", "f32") for op in ("x - row", "sum(axis=0)", "sum(axis=1)", "t().contiguous()")]
    + [("concatenate", str(1 << 26), "f32"), ("index_select(axis=0)", "8192x8192", "f32"), ("sort", str(1 << 24), "f32")]
    + [("train step", "100-64-10, batch 32", "f32")]
)


def blas_info():
    """NumPy's BLAS as it runs in this process: library, version, kernel (OpenBLAS's coretype)
    and threads. From threadpoolctl when it is importable, else from the OpenBLAS library's own
    functions (found among the loaded libraries), else from NumPy's build configuration, which
    names the library but not the kernel or the threads: those are then "unknown"."""
    info = {"numpy": np.__version__, "library": "unknown", "version": "unknown", "coretype": "unknown",
            "threads": "unknown", "source": "none"}
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if blas:
            b = blas[0]
            info.update(library=b.get("internal_api", "unknown"), version=b.get("version") or "unknown",
                        coretype=b.get("architecture") or "unknown", threads=b.get("num_threads", "unknown"),
                        source="threadpoolctl")
            return info
    except Exception:  # not installed, or it failed to inspect: try the next way
        pass
    try:
        import ctypes

        with open("/proc/self/maps") as f:  # Linux: the libraries this process has loaded
            libs = {p[-1] for p in map(str.split, f) if len(p) >= 6 and "openblas" in os.path.basename(p[-1]).lower()}
        for path in sorted(libs):
            lib = ctypes.CDLL(path)
            for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
                try:
                    corename = getattr(lib, f"{prefix}openblas_get_corename{suffix}")
                    threads = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}")
                except AttributeError:
                    continue
                corename.restype = ctypes.c_char_p
                info.update(library="openblas", coretype=corename().decode(), threads=int(threads()),
                            source="the OpenBLAS library")
                break
            if info["source"] != "none":
                break
    except Exception:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        if info["library"] == "unknown":
            info["library"] = blas.get("name", "unknown")
        info["version"] = blas.get("version", info["version"])
        if info["source"] == "none":
            info["source"] = "numpy.show_config (build configuration only)"
    except Exception:
        pass
    return info


def describe_blas(info):
    """One line for the table's notes: NumPy's version, BLAS, kernel and threads."""
    removed = ", ".join(f"{k}={v}" for k, v in REMOVED_ENV.items())
    return (
        f"NumPy {info['numpy']} with {info['library']} {info['version']}: kernel (coretype) "
        f"{info['coretype']}, {info['threads']} threads (from {info['source']})"
        + (f"; removed from its environment: {removed}" if removed else "")
    )


def median_time(fn, runs, warmup=None):
    """Median wall-clock seconds of `fn()` over `runs` calls, after a warm-up."""
    for _ in range(warmup if warmup is not None else max(1, runs // 5)):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def dims(shape):
    return [int(d) for d in shape.split("x")]


# NumPy, written the usual way.


# Each `np_*` prepares its data and returns (one call, steps per call).


def np_matmul(shape):
    m, k, n = dims(shape)
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
    return (lambda: a @ b), 1


def np_softmax(shape):
    x = np.random.default_rng(3).normal(0, 3, dims(shape)).astype(np.float32)

    def softmax():
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    return softmax, 1


def np_sqrt_into(shape):
    x = np.random.default_rng(4).uniform(0, 100, int(shape)).astype(np.float32)
    y = np.empty_like(x)
    return (lambda: np.sqrt(x, out=y)), 1


def np_copy(shape):
    x = np.random.default_rng(5).uniform(-1, 1, int(shape)).astype(np.float32)
    return (lambda: x.copy()), 1


def np_concatenate(shape):
    """Two halves of N f32 joined along axis 0 into a new array."""
    rng = np.random.default_rng(14)
    a, b = (rng.uniform(-1, 1, int(shape) // 2).astype(np.float32) for _ in range(2))
    return (lambda: np.concatenate((a, b))), 1


def np_add(shape):
    rng = np.random.default_rng(6)
    a, b = (rng.uniform(-1, 1, int(shape)).astype(np.float32) for _ in range(2))
    return (lambda: a + b), 1


def np_exp(shape):
    x = np.random.default_rng(7).uniform(-10, 10, int(shape)).astype(np.float32)
    return (lambda: np.exp(x)), 1


def matrix(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, dims(shape)).astype(np.float32)


def np_sub_row(shape):
    """`x - mean`: a matrix minus a row vector (broadcast over its rows)."""
    x = matrix(shape, 8)
    m = x.mean(axis=0)
    return (lambda: x - m), 1


def np_sum0(shape):
    x = matrix(shape, 9)
    return (lambda: x.sum(axis=0)), 1


def np_sum1(shape):
    x = matrix(shape, 10)
    return (lambda: x.sum(axis=1)), 1


def np_argmax1(shape):
    x = matrix(shape, 11)
    return (lambda: x.argmax(axis=1)), 1


def np_transpose(shape):
    """`x.t().contiguous()`: the transpose as a new C-contiguous array."""
    x = matrix(shape, 12)
    return (lambda: np.ascontiguousarray(x.T)), 1


def np_index_select0(shape):
    """`x.index_select(0, perm)`: the rows in shuffled order, as `np.take`."""
    x = matrix(shape, 13)
    perm = np.random.default_rng(14).permutation(x.shape[0])
    return (lambda: np.take(x, perm, axis=0)), 1


def np_argsort(shape):
    """`x.argsort(Some(0))` (stable) against NumPy's default argsort (unstable, its fastest)."""
    x = np.random.default_rng(16).uniform(-1, 1, int(shape)).astype(np.float32)
    return (lambda: np.argsort(x)), 1


def np_train_step(_shape):
    """The seed model's step by hand, as ferrite's `fit` runs it: a shuffled epoch of 500
    batches of 32; each step gathers its rows, runs 100 -> 64 relu -> 10, takes the softmax
    cross-entropy per sample and whether it was right, backpropagates and applies plain SGD.
    One call is one epoch."""
    batch, steps, (d, h, c) = 32, 500, (100, 64, 10)
    rng = np.random.default_rng(0)
    n = batch * steps
    x = rng.random((n, d), dtype=np.float32)
    y = np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]
    w1 = rng.uniform(-0.2, 0.2, (d, h)).astype(np.float32)
    w2 = rng.uniform(-0.2, 0.2, (h, c)).astype(np.float32)
    b1, b2 = np.zeros(h, np.float32), np.zeros(c, np.float32)
    loss, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
    lr = np.float32(0.01)

    def epoch():
        nonlocal w1, b1, w2, b2
        order = rng.permutation(n)
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            xb, yb = x[idx], y[idx]
            a1 = np.maximum(xb @ w1 + b1, 0)
            z = a1 @ w2 + b2
            m = z.max(axis=1, keepdims=True)
            e = np.exp(z - m)
            se = e.sum(axis=1, keepdims=True)
            loss[s : s + batch] = (yb * (m + np.log(se) - z)).sum(axis=1)
            right[s : s + batch] = z.argmax(axis=1) == yb.argmax(axis=1)
            dz = (e / se - yb) / batch
            dw2, db2 = a1.T @ dz, dz.sum(axis=0)
            da1 = (dz @ w2.T) * (a1 > 0)
            dw1, db1 = xb.T @ da1, da1.sum(axis=0)
            w1 -= lr * dw1
            b1 -= lr * db1
            w2 -= lr * dw2
            b2 -= lr * db2

    return epoch, steps


def numpy_time(op, shape, runs):
    """Median seconds per step of NumPy's `op` (epochs of the training step count as fewer runs)."""
    fn, steps = NUMPY[op](shape)
    if steps > 1:
        return median_time(fn, max(3, runs // 10), warmup=1) / steps
    return median_time(fn, runs)


def serve():
    """`--serve`: for `bench --numpy`, which interleaves NumPy with its own measurements so that
    both see the same machine. Each input line `op<TAB>shape<TAB>calls` is answered with the
    seconds per step of each of `calls` back-to-back calls, on one line (the first request for
    a shape prepares it and warms up once). The line `info` is answered with one line of JSON:
    `blas_info()` and `describe_blas`'s sentence as "line"."""
    prepared = {}
    for line in sys.stdin:
        if line.strip() == "info":
            info = blas_info()
            print(json.dumps(dict(info, line=describe_blas(info))), flush=True)
            continue
        op, shape, calls = line.rstrip("\n").split("\t")
        try:
            if (op, shape) not in prepared:
                prepared[(op, shape)] = NUMPY[op](shape)
                prepared[(op, shape)][0]()
            fn, steps = prepared[(op, shape)]
            times = []
            for _ in range(int(calls)):
                t = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t) / steps)
            print(" ".join(map(str, times)), flush=True)
        except (KeyError, ValueError) as e:
            print(f"error {op} {shape}: {e!r}", flush=True)


NUMPY = {
    "matmul": np_matmul,
    "softmax": np_softmax,
    "sqrt_into": np_sqrt_into,
    "copy": np_copy,
    "concatenate": np_concatenate,
    "a + b": np_add,
    "exp": np_exp,
    "x - row": np_sub_row,
    "sum(axis=0)": np_sum0,
    "sum(axis=1)": np_sum1,
    "argmax(axis=1)": np_argmax1,
    "t().contiguous()": np_transpose,
    "index_select(axis=0)": np_index_select0,
    "argsort": np_argsort,
    "train step": np_train_step,
}

# PyTorch and CuPy on the GPU, timed with CUDA events.


def cuda_median(fn, runs, event, elapsed_ms):
    """Median seconds of `fn()` between two CUDA events on its stream, after a warm-up."""
    for _ in range(max(2, runs // 5)):
        fn()

    def once():
        start, end = event(), event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return elapsed_ms(start, end) / 1e3

    return statistics.median(once() for _ in range(runs))


def torch_train_step(torch, runs):
    """The same step in PyTorch eager on the GPU (`nn.Linear` layers, cross-entropy against
    one-hot rows, `optim.SGD`): seconds per step over shuffled epochs of 500 steps, as above."""
    nn, dev = torch.nn, torch.device("cuda")
    batch, steps = 32, 500
    n = batch * steps
    x = torch.rand(n, 100, device=dev)
    y = nn.functional.one_hot(torch.randint(0, 10, (n,), device=dev), 10).float()
    model = nn.Sequential(nn.Linear(100, 64), nn.ReLU(), nn.Linear(64, 10)).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def epoch():
        order = torch.randperm(n, device=dev)
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            z, yb = model(x[idx]), y[idx]
            loss = nn.functional.cross_entropy(z, yb, reduction="none")
            right = z.argmax(dim=1) == yb.argmax(dim=1)  # noqa: F841 (ferrite computes it too)
            opt.zero_grad(set_to_none=True)
            loss.mean().backward()
            opt.step()
        torch.cuda.synchronize()

    return median_time(epoch, max(3, runs // 10), warmup=1) / steps


def torch_op(torch, op, shape, dtype, runs):
    dev = torch.device("cuda")
    if op == "train step":
        return torch_train_step(torch, runs) if dtype == "f32" else None
    if op == "matmul":
        m, k, n = dims(shape)
        dtype = dtype.split()[0]  # "bf16 wgmma" is ferrite's kernel choice; torch sees bf16
        t = torch.bfloat16 if dtype == "bf16" else torch.float16 if dtype == "f16" else torch.float32
        torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
        a, b = torch.rand(m, k, device=dev, dtype=t), torch.rand(k, n, device=dev, dtype=t)
        fn = lambda: a @ b  # noqa: E731
    elif op == "softmax":
        x = torch.randn(*dims(shape), device=dev)
        fn = lambda: torch.softmax(x, dim=-1)  # noqa: E731
    elif op in ("sqrt", "sqrt_into"):
        x = torch.rand(int(shape), device=dev)
        y = torch.empty_like(x)
        fn = (lambda: torch.sqrt(x, out=y)) if op == "sqrt_into" else (lambda: torch.sqrt(x))
    elif op == "concatenate":
        a, b = (torch.rand(int(shape) // 2, device=dev) for _ in range(2))
        fn = lambda: torch.cat((a, b))  # noqa: E731
    elif op == "index_select(axis=0)":
        x = torch.rand(*dims(shape), device=dev)
        idx = torch.tensor(shuffled(x.shape[0]), device=dev)
        fn = lambda: x.index_select(0, idx)  # noqa: E731
    elif op == "sort":
        x = torch.rand(int(shape), device=dev)
        fn = lambda: torch.sort(x)  # noqa: E731
    elif op in GENERIC_OPS:
        fn = GENERIC_OPS[op](lambda *d: torch.rand(*d, device=dev), shape, lambda x: x.contiguous())
    else:
        return None
    return cuda_median(fn, runs, lambda: torch.cuda.Event(enable_timing=True), lambda s, e: s.elapsed_time(e))


def cupy_op(cp, op, shape, dtype, runs):
    if dtype != "f32":
        return None  # CuPy has no bf16, and tf32 is a process-wide setting (CUPY_TF32)
    if op == "matmul":
        m, k, n = dims(shape)
        a, b = cp.random.rand(m, k, dtype=cp.float32), cp.random.rand(k, n, dtype=cp.float32)
        fn = lambda: a @ b  # noqa: E731
    elif op == "softmax":
        x = cp.random.standard_normal(dims(shape), dtype=cp.float32)

        def fn():
            e = cp.exp(x - x.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
    elif op in ("sqrt", "sqrt_into"):
        x = cp.random.rand(int(shape), dtype=cp.float32)
        y = cp.empty_like(x)
        fn = (lambda: cp.sqrt(x, out=y)) if op == "sqrt_into" else (lambda: cp.sqrt(x))
    elif op == "concatenate":
        a, b = (cp.random.rand(int(shape) // 2, dtype=cp.float32) for _ in range(2))
        fn = lambda: cp.concatenate((a, b))  # noqa: E731
    elif op == "index_select(axis=0)":
        x = cp.random.rand(*dims(shape), dtype=cp.float32)
        idx = cp.asarray(shuffled(x.shape[0]))
        fn = lambda: cp.take(x, idx, axis=0)  # noqa: E731
    elif op == "sort":
        x = cp.random.rand(int(shape), dtype=cp.float32)
        fn = lambda: cp.sort(x)  # noqa: E731
    elif op in GENERIC_OPS:
        fn = GENERIC_OPS[op](lambda *d: cp.random.rand(*d, dtype=cp.float32), shape, cp.ascontiguousarray)
    else:
        return None
    return cuda_median(fn, runs, cp.cuda.Event, cp.cuda.get_elapsed_time)


def _gpu_unary(rand, shape, _t):
    x = rand(int(shape))
    return lambda: x.exp()


def _gpu_add(rand, shape, _t):
    a, b = rand(int(shape)), rand(int(shape))
    return lambda: a + b


def _gpu_sub_row(rand, shape, _t):
    x = rand(*dims(shape))
    m = x.mean(0)
    return lambda: x - m


def _gpu_sum(axis):
    def make(rand, shape, _t):
        x = rand(*dims(shape))
        return lambda: x.sum(axis)

    return make


def _gpu_transpose(rand, shape, contiguous_t):
    x = rand(*dims(shape))
    return lambda: contiguous_t(x.T)


def shuffled(n):
    """The index order of the GPU `index_select` row: an odd stride modulo a power of two."""
    return [(i * 40503 + 7) % n for i in range(n)]


# The GPU rows PyTorch and CuPy spell alike: op -> make(rand(*dims), shape, contiguous(x.T)).
GENERIC_OPS = {
    "exp": _gpu_unary,
    "a + b": _gpu_add,
    "x - row": _gpu_sub_row,
    "sum(axis=0)": _gpu_sum(0),
    "sum(axis=1)": _gpu_sum(1),
    "t().contiguous()": _gpu_transpose,
}


def gpu_libraries():
    """The importable GPU libraries with a working device, and notes on the others."""
    libs, notes = [], []
    try:
        import torch

        if torch.cuda.is_available():
            libs.append(("torch", lambda *a: torch_op(torch, *a)))
        else:
            notes.append("torch: no CUDA device")
    except ImportError:
        notes.append("torch: not installed")
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
        libs.append(("cupy", lambda *a: cupy_op(cupy, *a)))
    except ImportError:
        notes.append("cupy: not installed")
    except Exception as e:  # no driver or no device
        notes.append(f"cupy: {e}")
    return libs, notes


def fmt_time(s):
    return f"{s * 1e3:.3f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} us"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("ferrite_json", nargs="?", help="the file `bench --json` wrote")
    p.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    p.add_argument("--serve", action="store_true", help="answer timing requests from `bench --numpy`")
    p.add_argument("--json", metavar="OUT", help="also write ferrite's JSON with these times merged in")
    args = p.parse_args()
    if args.serve:
        return serve()
    if not args.ferrite_json:
        p.error("the ferrite JSON file is required (or --serve)")
    with open(args.ferrite_json) as f:
        bench = json.load(f)
    rows = bench["rows"]
    runs = 5 if args.quick else 50

    # (device kind, op, shape, dtype) -> ferrite's row. Measured: ferrite's rows, then the
    # default shapes of each kind present (GPU ones when a GPU library is), without repeats.
    ferrite = {("cpu" if r["device"] == "cpu" else "gpu", r["op"], r["shape"], r["dtype"]): r for r in rows}
    libs, notes = gpu_libraries()
    wanted = list(ferrite)
    if not rows or any(k[0] == "cpu" for k in ferrite):
        wanted += [("cpu",) + k for k in CPU_ROWS]
    if libs:
        wanted += [("gpu",) + k for k in GPU_ROWS]
    wanted = list(dict.fromkeys(wanted))

    numpy_line = describe_blas(blas_info())
    print(f"{numpy_line}; " + ("; ".join(notes) if notes else "GPU libraries found"), file=sys.stderr)
    interleaved = [n for n in bench.get("notes", []) if n.startswith("NumPy in the rounds: ")]
    print(f"- NumPy measured here: {numpy_line}")
    for n in interleaved:
        print(f"- {n}")
    print()
    results = {}  # key -> [(library, seconds)]
    for key in wanted:
        kind, op, shape, dtype = key
        got = []
        try:
            if kind == "cpu" and key in ferrite and ferrite[key].get("numpy_seconds"):
                got.append(("numpy (interleaved)", ferrite[key]["numpy_seconds"]))
            elif kind == "cpu" and op in NUMPY and dtype == "f32":
                got.append(("numpy", numpy_time(op, shape, runs)))
            elif kind == "gpu":
                for name, measure in libs:
                    t = measure(op, shape, dtype, runs)
                    if t is not None:
                        got.append((name, t))
        except (ValueError, RuntimeError) as e:  # a shape this script cannot read, or OOM
            print(f"  skipped {op} {shape} {dtype}: {e}", file=sys.stderr)
        for name, t in got:
            print(f"  {name} {op} {shape} {dtype}: {fmt_time(t)}", file=sys.stderr)
        results[key] = got

    print("| device | op | shape | dtype | ferrite | in-process baseline | numpy/torch/cupy time | ferrite speedup |")
    print("|---|---|---|---|---|---|---|---|")
    for key in wanted:
        r, got = ferrite.get(key), results[key]
        mine = r["seconds"] if r else None
        base = f"{r['baseline']}: {fmt_time(r['baseline_seconds'])}" if r and r.get("baseline") else "-"
        if r and r.get("achieved") is not None:
            base += f" ({r['achieved']:.1f} / {r['limit']:.1f} {r['unit']})"
        theirs = "; ".join(f"{n} {fmt_time(t)}" for n, t in got) or "-"
        if r and r.get("error"):
            base = "FAILED: " + r["error"].replace("|", "\\|").replace("\n", " ")
        speedup = "; ".join(f"{t / mine:.2f}x vs {n}" for n, t in got) if mine and got else "-"
        device = r["device"] if r else key[0]
        print(
            f"| {device} | {key[1]} | {key[2]} | {key[3]} | {fmt_time(mine) if mine else '-'} | {base} "
            f"| {theirs} | {speedup} |"
        )
    if args.json:
        write_merged(args.json, bench, wanted, ferrite, results)


def write_merged(path, bench, wanted, ferrite, results):
    """ferrite's JSON with an `others` list per row (library, seconds, ferrite's speedup), and
    rows of their own for shapes only the other libraries were timed on."""
    merged = dict(bench)
    merged["numpy_measured_here"] = blas_info()
    merged["rows"] = []
    for key in wanted:
        r = dict(ferrite.get(key) or {"device": key[0], "op": key[1], "shape": key[2], "dtype": key[3], "seconds": None})
        mine = r["seconds"]
        r["others"] = [
            {"library": n, "seconds": t, "ferrite_speedup": t / mine if mine else None} for n, t in results[key]
        ]
        merged["rows"].append(r)
    with open(path, "w") as f:
        json.dump(merged, f, indent=2)


if __name__ == "__main__":
    main()
