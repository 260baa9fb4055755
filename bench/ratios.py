#!/usr/bin/env python3
"""Key ratios of one run of the ivkit benchmarks, as markdown tables.

Usage:
  build/bench/bench/bench_scoring --benchmark_out=scoring.json --benchmark_out_format=json
  build/bench/bench/bench_em --benchmark_out=em.json --benchmark_out_format=json
  python3 bench/ratios.py scoring.json em.json

Every ratio divides two timings of the same run (same binary, same shapes). Benchmarks whose name
ends in /real_time are compared on wall-clock time, the others on the CPU time of their thread.
"""
import json
import re
import sys

UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def load(paths):
    runs, context = {}, None
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        context = context or data.get("context", {})
        for b in data["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration" or "error_occurred" in b:
                continue
            key = "real_time" if b["name"].endswith("/real_time") else "cpu_time"
            b["seconds"] = b[key] * UNIT[b.get("time_unit", "ns")]
            runs[b["name"]] = b
    return runs, context


def find(runs, family, scalar, **args):
    """The run of family<scalar> whose name has every NAME:value given."""
    for name, b in runs.items():
        if not name.startswith(f"{family}<{scalar}>/"):
            continue
        fields = dict(re.findall(r"([A-Za-z_]+):(\d+)", name))
        if all(fields.get(k) == str(v) for k, v in args.items()):
            return b
    return None


def ratio(a, b):
    return f"{a['seconds'] / b['seconds']:.2f}" if a and b else "n/a"


def rate(b, key="frames/s"):
    if not b or key not in b:
        return "n/a"
    v = b[key]
    return f"{v / 1e3:.0f}k" if key == "frames/s" else f"{v:.1f}"


def ms(b):
    return f"{b['seconds'] * 1e3:.1f}" if b else "n/a"


def main(paths):
    runs, ctx = load(paths)
    if ctx:
        print(f"Machine: {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz; "
              f"library build: {ctx.get('library_build_type')}; date: {ctx.get('date')}\n")

    print("### Diagonal GMM scoring, N = 20000 frames, one thread\n")
    print("| scalar | C | D | posteriors ms | frames/s | GFLOP/s | GEMM ms | posteriors / GEMM "
          "| GEMM+alloc ms | posteriors / (GEMM+alloc) | Kaldi loop ms | Kaldi loop / posteriors "
          "| top-N ms | gselect ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in ("float", "double"):
        for C in (256, 1024, 2048):
            for D in (39, 60):
                p = find(runs, "BM_DiagGmm_posteriors", s, C=C, D=D)
                if not p:
                    continue
                g = find(runs, "BM_Gemm_diag_shape", s, C=C, D=D)
                ga = find(runs, "BM_Gemm_diag_shape_alloc", s, C=C, D=D)
                k = find(runs, "BM_DiagGmm_kaldi_loop", s, C=C, D=D)
                t = find(runs, "BM_DiagGmm_top_n_posteriors", s, C=C, D=D)
                gs = find(runs, "BM_DiagGmm_gaussian_selection", s, C=C, D=D)
                print(f"| {s} | {C} | {D} | {ms(p)} | {rate(p)} | {rate(p, 'GFLOP/s')} | {ms(g)} | {ratio(p, g)} "
                      f"| {ms(ga)} | {ratio(p, ga)} | {ms(k)} | {ratio(k, p)} | {ms(t)} | {ms(gs)} |")

    print("\n### Full-covariance GMM scoring, D = 60, float, N = 20000 frames, one thread\n")
    print("| C | posteriors ms | GFLOP/s | GEMM (N x F by F x C) ms | GEMM GFLOP/s | posteriors / GEMM |")
    print("|---|---|---|---|---|---|")
    for C in (256, 512):
        p = find(runs, "BM_FullGmm_posteriors", "float", C=C, D=60)
        g = find(runs, "BM_Gemm_full_shape", "float", C=C, D=60)
        if p:
            print(f"| {C} | {ms(p)} | {rate(p, 'GFLOP/s')} | {ms(g)} | {rate(g, 'GFLOP/s')} | {ratio(p, g)} |")

    print("\n### EM accumulation, D = 60, N = 20000 frames, one thread\n")
    print("| scalar | C | all components ms | frames/s | top-20 ms | frames/s | GEMM pair ms "
          "| accumulate / GEMM pair | top-20 / all |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in ("float", "double"):
        for C in (512, 2048):
            a = find(runs, "BM_DiagGmm_accumulate", s, C=C, D=60, top_n=0)
            a20 = find(runs, "BM_DiagGmm_accumulate", s, C=C, D=60, top_n=20)
            g = find(runs, "BM_Gemm_em_shapes", s, C=C, D=60, N=20000)
            if a:
                print(f"| {s} | {C} | {ms(a)} | {rate(a)} | {ms(a20)} | {rate(a20)} | {ms(g)} | {ratio(a, g)} "
                      f"| {ratio(a20, a)} |")

    print("\n### One EM iteration (accumulate + em_update), C = 512, D = 60, float, 200k frames\n")
    print("| threads | ms (wall) | frames/s | vs one thread |")
    print("|---|---|---|---|")
    one = find(runs, "BM_DiagGmm_em_iteration", "float", C=512, D=60, threads=1)
    for th, label in ((1, "1"), (0, "all (0)")):
        b = find(runs, "BM_DiagGmm_em_iteration", "float", C=512, D=60, threads=th)
        if b:
            n = int(b["num_threads"]) if "num_threads" in b else ""
            print(f"| {label}{f' = {n}' if th == 0 and n else ''} | {ms(b)} | {rate(b)} | "
                  f"{ratio(one, b) if one else 'n/a'}x |")
    g = find(runs, "BM_Gemm_em_shapes", "float", C=512, D=60, N=200000)
    if g and one:
        print(f"\nBare GEMM pair over all 200k frames at once: {ms(g)} ms ({rate(g)} frames/s); "
              f"EM iteration / GEMM pair = {ratio(one, g)}")

    fa = find(runs, "BM_FullGmm_accumulate", "float", C=256, D=60)
    fg = find(runs, "BM_Gemm_em_shapes_full", "float", C=256, D=60, N=20000)
    if fa:
        print(f"\nFull-covariance accumulation, C = 256, D = 60, float: {ms(fa)} ms ({rate(fa)} frames/s, "
              f"{rate(fa, 'GFLOP/s')} GFLOP/s); GEMM pair {ms(fg)} ms; ratio {ratio(fa, fg)}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
