#!/usr/bin/env python3
"""Python baselines for the wes-ispc ONNX executor and halo2 prover: onnxruntime and ezkl.

Optional, and not run by CI. Install the tools first (all from PyPI; nothing else is fetched:
ezkl's SRS is generated locally with ezkl.gen_srs, which is for benchmarking only, not a
trusted setup):

    pip install onnxruntime ezkl numpy onnx
    python3 wes-ispc/scripts/bench_python.py                  # both parts
    python3 wes-ispc/scripts/bench_python.py --ort-only
    python3 wes-ispc/scripts/bench_python.py --ezkl-only --ezkl-config resources
    python3 wes-ispc/scripts/bench_python.py --markdown       # `| tool | measure | value |` rows

Part 1 (onnxruntime): single-sample latency of `sess.run` on one float32 input row ([1, N],
or [1, C, H, W] for an image model: `--model digits_cnn.onnx --input-json digits_cnn.json`),
median and p99 over --ort-runs runs after --ort-warmup warm-up runs.

Part 2 (ezkl): for each --ezkl-config, gen_settings (input public, output public, params
fixed) [+ calibrate_settings] -> compile_circuit -> gen_srs -> setup -> gen_witness -> prove
-> verify, each phase timed with time.perf_counter. Reports logrows, prove/verify seconds,
proof and proving-key sizes on disk, and the largest difference between ezkl's rescaled
outputs and onnxruntime's. Configurations:
    default      ezkl's default run args (scales 7, logrows 17 in ezkl 23)
    resources    default settings, then calibrate_settings(target="resources",
                 max_logrows=--max-logrows)
    accuracy     default settings, then calibrate_settings(target="accuracy",
                 max_logrows=--max-logrows)
    logrows=N    default run args with logrows fixed to N (ezkl spreads its lookup tables over
                 more columns when they do not fit; a failure is reported, not fatal)
The default is `--ezkl-config logrows=15 --ezkl-config resources` (about 3-4 minutes on 2
cores). Proving keys are large (about 0.4 GB at logrows 15 with scale 7, 1.6 GB at 17, 3 GB
at 18): logrows 18+ takes minutes per phase on a small machine.

Recent ezkl releases make some calls (calibrate_settings, get_srs, ...) return awaitables;
every ezkl call here goes through _ezkl(), which awaits the result when it is one.
"""
import argparse
import asyncio
import inspect
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "onnx")
DEFAULT_MODEL = os.path.normpath(os.path.join(FIXTURES, "digits_mlp.onnx"))
DEFAULT_INPUT = os.path.normpath(os.path.join(FIXTURES, "digits_mlp.json"))


# ----------------------------------------------------------------------------- helpers

class Results:
    """Collects (tool, measure, value) rows and prints them as text or Markdown."""

    def __init__(self, markdown):
        self.markdown = markdown
        self.rows = []

    def add(self, tool, measure, value):
        self.rows.append((tool, measure, value))

    def line(self, text):
        # Free-form progress text goes to stderr in Markdown mode so stdout stays a table.
        print(text, file=sys.stderr if self.markdown else sys.stdout, flush=True)

    def print_markdown(self):
        print("| tool | measure | value |")
        print("| --- | --- | --- |")
        for tool, measure, value in self.rows:
            print(f"| {tool} | {measure} | {value} |")


def load_inputs(path):
    """Returns the list of input vectors in a fixture JSON ({"cases": [{"input": [...]}]})
    or an ezkl-style one ({"input_data": [[...]]})."""
    with open(path) as f:
        data = json.load(f)
    if "cases" in data:
        return [list(map(float, c["input"])) for c in data["cases"]]
    if "input_data" in data:
        return [list(map(float, x)) for x in data["input_data"]]
    raise SystemExit(f"{path}: expected a 'cases' or 'input_data' key")


def fmt_bytes(n):
    return f"{n} ({n / 1024:.1f} KiB)" if n < 1 << 20 else f"{n} ({n / (1 << 20):.2f} MiB)"


def percentile(sorted_vals, q):
    idx = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[idx]


# ----------------------------------------------------------------------------- onnxruntime

def ort_session(model, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads > 0:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])


def ort_feed(sess, x):
    """One input row shaped as the model's input (an image model takes [1, C, H, W])."""
    import numpy as np

    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    return {inp.name: np.asarray(x, dtype=np.float32).reshape(shape)}


def ort_outputs(model, x):
    """onnxruntime's outputs for one input vector, as flat float lists (for the ezkl check)."""
    import numpy as np

    sess = ort_session(model, 1)
    outs = sess.run(None, ort_feed(sess, x))
    return [np.asarray(o, dtype=np.float64).ravel().tolist() for o in outs]


def bench_ort(args, inputs, res):
    import numpy as np
    import onnxruntime as ort

    tag = os.path.splitext(os.path.basename(args.model))[0]
    sess = ort_session(args.model, args.ort_threads)
    feeds = ort_feed(sess, inputs[0])
    run = sess.run
    for _ in range(args.ort_warmup):
        run(None, feeds)
    clock = time.perf_counter_ns
    samples = [0] * args.ort_runs
    for i in range(args.ort_runs):
        t0 = clock()
        run(None, feeds)
        samples[i] = clock() - t0
    samples.sort()
    med = statistics.median(samples) / 1e3
    p99 = percentile(samples, 0.99) / 1e3
    mean = sum(samples) / len(samples) / 1e3
    res.line(f"onnxruntime {tag} median_us={med:.1f} p99_us={p99:.1f} mean_us={mean:.1f} "
             f"runs={args.ort_runs} threads={args.ort_threads or 'default'} "
             f"(onnxruntime {ort.__version__})")
    res.add("onnxruntime", f"{tag} single-sample latency, median (µs)", f"{med:.1f}")
    res.add("onnxruntime", f"{tag} single-sample latency, p99 (µs)", f"{p99:.1f}")


# ----------------------------------------------------------------------------- ezkl

def _ezkl(fn, *a, **kw):
    """Calls an ezkl function, awaiting the result if this ezkl version made it async.
    The call itself is made inside a running event loop, because pyo3-asyncio futures
    need one at creation time."""

    async def go():
        r = fn(*a, **kw)
        if inspect.isawaitable(r):
            r = await r
        return r

    return asyncio.run(go())


def _timed(fn, *a, **kw):
    t0 = time.perf_counter()
    r = _ezkl(fn, *a, **kw)
    return r, time.perf_counter() - t0


def _check(ok, phase):
    # Most ezkl calls return True on success and raise on failure; some return dicts.
    if ok is False:
        raise RuntimeError(f"ezkl {phase} returned False")


def ezkl_one(args, ezkl, config, inputs, workdir, srs_cache, res):
    tag = os.path.splitext(os.path.basename(args.model))[0]
    d = os.path.join(workdir, config.replace("=", ""))
    os.makedirs(d, exist_ok=True)
    p = {k: os.path.join(d, v) for k, v in dict(
        settings="settings.json", compiled="model.compiled", vk="vk.key", pk="pk.key",
        witness="witness.json", proof="proof.json", input="input.json", cal="calibration.json",
    ).items()}
    with open(p["input"], "w") as f:
        json.dump({"input_data": [inputs[0]]}, f)
    # Calibration data: several samples concatenated; ezkl splits them into batches.
    with open(p["cal"], "w") as f:
        json.dump({"input_data": [[v for x in inputs[: args.calibration_samples] for v in x]]}, f)

    ra = ezkl.PyRunArgs()
    ra.input_visibility = "public"
    ra.output_visibility = "public"
    ra.param_visibility = "fixed"
    if config.startswith("logrows="):
        ra.logrows = int(config.split("=", 1)[1])
    t = {}
    ok, t["gen_settings"] = _timed(ezkl.gen_settings, args.model, p["settings"], py_run_args=ra)
    _check(ok, "gen_settings")
    if config in ("resources", "accuracy"):
        kw = {}
        if args.max_logrows:
            kw["max_logrows"] = args.max_logrows
        ok, t["calibrate_settings"] = _timed(ezkl.calibrate_settings, p["cal"], args.model,
                                             p["settings"], config, **kw)
        _check(ok, "calibrate_settings")
    with open(p["settings"]) as f:
        settings = json.load(f)
    run_args = settings["run_args"]
    logrows = run_args["logrows"]
    desc = (f"logrows={logrows} input_scale={run_args['input_scale']} "
            f"param_scale={run_args['param_scale']} "
            f"scale_rebase_multiplier={run_args['scale_rebase_multiplier']} "
            f"lookup_range={run_args['lookup_range']} num_inner_cols={run_args['num_inner_cols']} "
            f"num_rows={settings.get('num_rows')}")
    res.line(f"ezkl {tag} [{config}] settings: {desc}")

    ok, t["compile_circuit"] = _timed(ezkl.compile_circuit, args.model, p["compiled"], p["settings"])
    _check(ok, "compile_circuit")

    srs = srs_cache.get(logrows)
    if srs is None:
        srs = os.path.join(workdir, f"kzg{logrows}.srs")
        ok, t["gen_srs"] = _timed(ezkl.gen_srs, srs, logrows)
        _check(ok, "gen_srs")
        srs_cache[logrows] = srs

    ok, t["setup"] = _timed(ezkl.setup, p["compiled"], p["vk"], p["pk"], srs_path=srs)
    _check(ok, "setup")
    wit, t["gen_witness"] = _timed(ezkl.gen_witness, p["input"], p["compiled"], p["witness"],
                                   vk_path=p["vk"], srs_path=srs)
    ok, t["prove"] = _timed(ezkl.prove, p["witness"], p["compiled"], p["pk"], p["proof"],
                            srs_path=srs)
    _check(ok, "prove")
    ok, t["verify"] = _timed(ezkl.verify, p["proof"], p["settings"], p["vk"], srs_path=srs)
    if ok is not True:
        raise RuntimeError(f"ezkl verify returned {ok!r}")

    proof_bytes = os.path.getsize(p["proof"])
    raw_proof = None
    try:
        with open(p["proof"]) as f:
            pj = json.load(f)
        if isinstance(pj.get("proof"), list):
            raw_proof = len(pj["proof"])
        elif isinstance(pj.get("hex_proof"), str):
            raw_proof = (len(pj["hex_proof"]) - 2) // 2
    except (ValueError, OSError):
        pass
    pk_bytes = os.path.getsize(p["pk"])
    vk_bytes = os.path.getsize(p["vk"])

    # How close ezkl's fixed-point outputs are to onnxruntime's float ones.
    err = None
    try:
        # gen_witness's return value does not always carry pretty_elements; the file does.
        with open(p["witness"]) as f:
            wit = json.load(f)
        outs = wit["pretty_elements"]["rescaled_outputs"]
        ref = ort_outputs(args.model, inputs[0])
        diffs = []
        for got, want in zip(outs, ref):
            flat = [float(v) for v in (got if isinstance(got, list) else [got])]
            diffs += [abs(a - b) for a, b in zip(flat, want)]
        err = max(diffs) if diffs else None
    except Exception as e:  # the check is informative only
        res.line(f"  (could not compare outputs with onnxruntime: {e!r})")

    phases = " ".join(f"{k}={v:.3f}s" for k, v in t.items())
    res.line(f"ezkl {tag} [{config}] logrows={logrows} prove_s={t['prove']:.3f} "
             f"verify_s={t['verify']:.3f} proof_bytes={proof_bytes}"
             + (f" (raw {raw_proof})" if raw_proof else "")
             + f" pk_bytes={pk_bytes} vk_bytes={vk_bytes}"
             + (f" max_abs_err_vs_ort={err:.3g}" if err is not None else ""))
    res.line(f"  phases: {phases}")
    who = f"ezkl [{config}]"
    res.add(who, "settings", desc)
    res.add(who, "logrows", logrows)
    for k, v in t.items():
        res.add(who, f"{k} (s)", f"{v:.3f}")
    res.add(who, "proof size (bytes, proof.json)", proof_bytes)
    if raw_proof:
        res.add(who, "proof size (bytes, raw)", raw_proof)
    res.add(who, "pk size (bytes)", pk_bytes)
    res.add(who, "vk size (bytes)", vk_bytes)
    if err is not None:
        res.add(who, "max abs error vs onnxruntime", f"{err:.3g}")


def bench_ezkl(args, inputs, res):
    import ezkl

    version = getattr(ezkl, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as _v
            version = _v("ezkl")
        except Exception:
            version = "?"
    res.line(f"ezkl version {version}")
    res.add("ezkl", "version", version)
    workdir = args.workdir or tempfile.mkdtemp(prefix="ezkl_bench_")
    os.makedirs(workdir, exist_ok=True)
    srs_cache = {}
    failures = 0
    try:
        for config in args.ezkl_config:
            try:
                ezkl_one(args, ezkl, config, inputs, workdir, srs_cache, res)
            except Exception as e:
                failures += 1
                res.line(f"ezkl [{config}] FAILED: {type(e).__name__}: {e}")
                res.add(f"ezkl [{config}]", "status", f"failed: {type(e).__name__}")
    finally:
        if args.keep or args.workdir:
            res.line(f"ezkl artifacts kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return failures


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL, help="ONNX model (default: digits_mlp.onnx)")
    ap.add_argument("--input-json", default=DEFAULT_INPUT,
                    help="inputs: fixture JSON with cases[i].input, or ezkl input_data JSON")
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--ort-only", action="store_true", help="run only the onnxruntime part")
    only.add_argument("--ezkl-only", action="store_true", help="run only the ezkl part")
    ap.add_argument("--markdown", action="store_true",
                    help="print results as `| tool | measure | value |` rows on stdout")
    ap.add_argument("--ort-runs", type=int, default=20000)
    ap.add_argument("--ort-warmup", type=int, default=2000)
    ap.add_argument("--ort-threads", type=int, default=1,
                    help="intra-op threads for onnxruntime (0 = its default)")
    ap.add_argument("--ezkl-config", action="append", default=None,
                    help="default | resources | accuracy | logrows=N; repeatable "
                         "(default: logrows=15 and resources)")
    ap.add_argument("--calibration-samples", type=int, default=16,
                    help="input cases used by calibrate_settings")
    ap.add_argument("--max-logrows", type=int, default=15,
                    help="max_logrows passed to calibrate_settings (0 = no cap; uncapped, "
                         "ezkl 23 picks logrows 18 for resources and 20 for accuracy here)")
    ap.add_argument("--workdir", default=None, help="where ezkl writes its files (kept)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary ezkl directory")
    args = ap.parse_args()
    if not args.ezkl_config:
        args.ezkl_config = ["logrows=15", "resources"]
    for c in args.ezkl_config:
        if c not in ("default", "resources", "accuracy") and not (
                c.startswith("logrows=") and c.split("=", 1)[1].isdigit()):
            ap.error(f"unknown --ezkl-config {c!r}")
    args.model = os.path.abspath(args.model)

    res = Results(args.markdown)
    inputs = load_inputs(args.input_json)
    failures = 0
    if not args.ezkl_only:
        bench_ort(args, inputs, res)
    if not args.ort_only:
        failures = bench_ezkl(args, inputs, res)
    if args.markdown:
        res.print_markdown()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
