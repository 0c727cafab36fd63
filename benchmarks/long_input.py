"""Long inputs on limited memory: encoder forward time and peak memory vs input length, for our
LSH encoder, our full-attention encoder, Hugging Face's Reformer (LSH) and LED's encoder
(Longformer attention), and one training step of our encoder, reversible vs not.

    python -m benchmarks.long_input [--lengths 1024 4096 ...] [--repeats 3] [--threads 2]
        [--memory-gib G] [--max-seconds 300] [--json PATH] [--report DIR] [--quick]
    python -m benchmarks.long_input --from-json PATH --report DIR   # tables and plots again
    python -m benchmarks.long_input --from-json PATH --json PATH --end-to-end checkpoints/default
        [--e2e-tokens 65536] [--e2e-num-beams 4 1]   # add the Summarizer on a long document

All four systems have the preset's shape (`small`: d_model 256, 4 layers, 4 heads of 64,
d_ff 2048) and random weights; the HF models get our LSH settings (chunk length, buckets,
hashes, one chunk before and after) and LED a 512-token window. Each (system, length)
measurement runs in a fresh process forked from a server that has already imported
everything, so peaks never mix and start-up costs little. A measurement builds the model,
warms it up on 512 tokens, resets the process's peak resident memory, then times one forward
(inference mode) or one training step (forward + backward of the encoder, dropout on) on a
random batch of one; forward calls also time their attention sublayers. Reported memory is
the peak resident memory during that call minus the resident memory just before it; "total"
is the process's whole peak.

A process may hold at most `--memory-gib` (default: the machine's memory less 1.5 GiB): its
address space is capped there (an allocation beyond fails inside the process), and the parent
kills it if its resident memory goes over anyway. Either way the result is "does not fit",
and that system is not tried at longer lengths; nor is one whose call took longer than
`--max-seconds`, or whose time extrapolated from its last two lengths would. Lengths are
interleaved (every system at one length, `--repeats` times, then the next length); time is
the median of the repeats, and a length whose first call took over `--single-above`
seconds is measured once.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import math
import multiprocessing
import os
import resource
import statistics
import sys
import time
from multiprocessing import forkserver
from pathlib import Path

import torch
import transformers
from transformers import LEDConfig, ReformerConfig, ReformerModel
from transformers.models.led.modeling_led import LEDEncoder

from benchmarks.decode import build
from benchmarks.memory import MiB, rss_now
from benchmarks.results import write_section
from summarizer import TerraformerConfig
from summarizer.model.modeling import Residual
from summarizer.seed import set_seed

GiB = 2**30
FORWARD_SYSTEMS = {
    "lsh": "ours, LSH (reversible)",
    "full": "ours, full attention",
    "reformer": "HF Reformer (LSH)",
    "led": "HF LED encoder (Longformer)",
}
TRAIN_SYSTEMS = {
    "lsh-reversible": "ours, LSH, reversible",
    "lsh-plain": "ours, LSH, not reversible",
}
DEFAULT_LENGTHS = [1024, 4096, 16384, 65536, 131072, 262144, 524288, 1048576]
QUICK_LENGTHS = [512, 1024]
WARMUP_TOKENS = 512
OK, NO_FIT, SLOW, ERROR = "ok", "does not fit", "over time cap", "error"


# ---------------------------------------------------------------------------------- systems
def terraformer_config(system: str, preset: str) -> TerraformerConfig:
    """Our encoder's configuration: the preset, with full attention or without reversible
    layers where the system asks (d_ff unchanged, so only that one thing differs)."""
    if system == "full":
        return TerraformerConfig.preset(preset, encoder_attention="full")
    if system == "lsh-plain":
        return TerraformerConfig.preset(preset, reversible=False)
    return TerraformerConfig.preset(preset)


def reformer_like(config: TerraformerConfig, length: int) -> ReformerConfig:
    """HF Reformer with our encoder's width, depth, heads, d_ff and LSH settings: every layer
    LSH, plain (not axial) position embeddings for `length` positions, no dropout."""
    return ReformerConfig(
        vocab_size=config.vocab_size,
        hidden_size=config.d_model,
        num_attention_heads=config.n_heads,
        attention_head_size=config.d_model // config.n_heads,
        feed_forward_size=config.d_ff,
        attn_layers=["lsh"] * config.n_encoder_layers,
        axial_pos_embds=False,
        max_position_embeddings=max(length, WARMUP_TOKENS),
        lsh_attn_chunk_length=config.lsh_chunk_len,
        num_buckets=config.lsh_n_buckets,
        num_hashes=config.lsh_n_hashes,
        lsh_num_chunks_before=config.lsh_chunks_before,
        lsh_num_chunks_after=config.lsh_chunks_after,
        hidden_act="relu",
        hidden_dropout_prob=0.0,
        lsh_attention_probs_dropout_prob=0.0,
        is_decoder=False,
        use_cache=False,
    )


def led_like(config: TerraformerConfig, length: int, window: int) -> LEDConfig:
    """LED (Longformer attention) with our encoder's width, depth, heads and d_ff; no global
    attention tokens, position embeddings for `length` (padded to the window) positions."""
    positions = max(length, WARMUP_TOKENS)
    return LEDConfig(
        vocab_size=config.vocab_size,
        d_model=config.d_model,
        encoder_layers=config.n_encoder_layers,
        decoder_layers=1,  # unused: only the encoder is built
        encoder_attention_heads=config.n_heads,
        decoder_attention_heads=config.n_heads,
        encoder_ffn_dim=config.d_ff,
        decoder_ffn_dim=config.d_ff,
        attention_window=window,
        max_encoder_position_embeddings=math.ceil(positions / window) * window,
        activation_function="relu",
        dropout=0.0,
        attention_dropout=0.0,
    )


def make_encoder(system: str, preset: str, length: int, led_window: int) -> torch.nn.Module:
    """The system's encoder with random weights, in eval mode (train mode for TRAIN_SYSTEMS)."""
    config = terraformer_config(system, preset)
    if system == "reformer":
        return ReformerModel(reformer_like(config, length)).eval()
    if system == "led":
        return LEDEncoder(led_like(config, length, led_window)).eval()
    encoder = build(config).encoder
    return encoder.train() if system in TRAIN_SYSTEMS else encoder


def settings_of(preset: str, led_window: int) -> dict:
    """What each system is, for the report."""
    ours = TerraformerConfig.preset(preset)
    lsh = {
        "chunk_len": ours.lsh_chunk_len,
        "n_buckets": ours.lsh_n_buckets,
        "n_hashes": ours.lsh_n_hashes,
        "chunks_before": ours.lsh_chunks_before,
        "chunks_after": ours.lsh_chunks_after,
    }
    return {
        "preset": preset,
        "d_model": ours.d_model,
        "layers": ours.n_encoder_layers,
        "heads": ours.n_heads,
        "d_ff": ours.d_ff,
        "lsh": lsh,
        "led_window": led_window,
    }


# ------------------------------------------------------------------------ one measurement
class DoesNotFit(Exception):
    pass


def measure(
    system: str, length: int, preset: str, threads: int, cap_bytes: int, led_window: int
) -> dict:
    """One forward (or training step) of `system` on `length` tokens, in this process.

    Returns seconds, the peak resident memory above the resident memory before the call
    (MiB) and the process's whole peak (MiB)."""
    torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()  # LED says it pads to its window, every time
    cap_address_space(cap_bytes)
    set_seed(0)
    model = make_encoder(system, preset, length, led_window)
    train = system in TRAIN_SYSTEMS
    ids = torch.randint(3, terraformer_config(system, preset).vocab_size, (1, length))
    run_step(model, ids[:, :WARMUP_TOKENS], train)  # lazy initialization; allocates grads
    if train:
        for p in model.parameters():
            p.grad.zero_()
    gc.collect()
    # Time inside the attention sublayers too (inference only: the reversible backward
    # runs the forward again, which the timer would count).
    timer = None if train else SublayerTimer(attention_sublayers(model, system))
    peak_was_reset = reset_peak()
    before = rss_now()
    seconds = run_step(model, ids, train)
    peak = peak_rss()
    return {
        "status": OK,
        "seconds": seconds,
        **({"attention_seconds": timer.seconds} if timer else {}),
        "peak_mib": max(0, peak - before) / MiB,
        "total_peak_mib": peak / MiB,
        "parameters": sum(p.numel() for p in model.parameters()),
        "peak_was_reset": peak_was_reset,
    }


def end_to_end(
    model_dir: str,
    tokens: int,
    data: str,
    threads: int,
    cap_bytes: int,
    length: str,
    num_beams: int | None,
) -> dict:
    """Summarize a document of about `tokens` model tokens with the Summarizer API (cached
    generate(); `num_beams` None: the checkpoint's setting): validation papers from `data`,
    one section each, the last one cut short; the input limit is raised so the encoder reads
    all of it."""
    from data.dataset import load_documents
    from data.ingest import Document, Section
    from summarizer.api import Summarizer

    torch.set_num_threads(threads)
    cap_address_space(cap_bytes)
    summarizer = Summarizer.from_pretrained(model_dir)
    papers, _ = load_documents(data)
    sections, total = [], 0
    for i, paper in enumerate(papers):
        ids = summarizer.tokenizer(paper["article"], add_special_tokens=False)["input_ids"]
        ids = ids[: tokens - total]
        sections.append(Section(f"paper {i + 1}", summarizer.tokenizer.decode(ids)))
        total += len(ids)
        if total >= tokens:
            break
    trained_on = summarizer.max_input_tokens
    summarizer.max_input_tokens = 2 * tokens  # no shortening: the whole document is read
    document = Document(f"{len(sections)} papers", "cohan", None, sections)
    gc.collect()
    reset_peak()
    before = rss_now()
    settings = {"length": length}
    if num_beams is not None:
        settings["num_beams"] = num_beams
    result = summarizer.summarize(document, **settings)
    peak = peak_rss()
    return {
        "status": OK,
        "model_dir": model_dir,
        "trained_input_tokens": trained_on,
        "document_tokens": result.input_tokens,
        "encoder_tokens": result.used_tokens,
        "num_beams": num_beams or summarizer.defaults.num_beams,
        "length": length,
        "seconds": result.seconds,
        "peak_mib": max(0, peak - before) / MiB,
        "total_peak_mib": peak / MiB,
        "summary": result.summary,
    }


def attention_sublayers(model: torch.nn.Module, system: str) -> list[torch.nn.Module]:
    """Each layer's attention sublayer with its projections and LayerNorm (not the FF)."""
    if system == "reformer":
        return [layer.attention for layer in model.encoder.layers]
    if system == "led":
        return [layer.self_attn for layer in model.layers]
    return [m for m in model.modules() if isinstance(m, Residual) and m.takes_mask]


class SublayerTimer:
    """Seconds spent inside the given modules' forward calls, summed."""

    def __init__(self, modules: list[torch.nn.Module]):
        self.seconds = 0.0
        self._started = 0.0
        for m in modules:
            m.register_forward_pre_hook(self._start)
            m.register_forward_hook(self._stop)

    def _start(self, module, args) -> None:
        self._started = time.perf_counter()

    def _stop(self, module, args, output) -> None:
        self.seconds += time.perf_counter() - self._started


def run_step(model: torch.nn.Module, ids: torch.Tensor, train: bool) -> float:
    """Seconds for one encoder forward (inference) or forward + backward (training)."""
    started = time.perf_counter()
    if train:
        hidden = model(input_ids=ids).last_hidden_state  # (1, S, D)
        hidden.square().mean().backward()
    else:
        with torch.inference_mode():
            model(input_ids=ids)
    return time.perf_counter() - started


def cap_address_space(cap_bytes: int) -> None:
    """Let this process's resident memory grow to about `cap_bytes`, no further: fresh
    allocations count fully against the address-space limit, so it is set to what is mapped
    now plus what is still allowed."""
    resident = rss_now()
    if resident >= cap_bytes:
        raise DoesNotFit(f"{resident / MiB:.0f} MiB resident before building the model")
    mapped = proc_status_bytes("VmSize")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = mapped + cap_bytes - resident
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def reset_peak() -> bool:
    """Reset this process's peak resident memory (VmHWM); False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss() -> int:
    return proc_status_bytes("VmHWM")


def proc_status_bytes(field: str, pid: int | str = "self") -> int:
    """A memory field of /proc/PID/status in bytes (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def meminfo_bytes(field: str) -> int:
    """A field of /proc/meminfo (MemTotal, MemAvailable) in bytes."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def is_out_of_memory(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, MemoryError) or "alloc" in text or "out of memory" in text


def child(conn, job: dict) -> None:
    """Forked worker: one measurement; the result (or why there is none) goes to `conn`."""
    task = end_to_end if job.pop("task", None) == "end_to_end" else measure
    try:
        result = task(**job)
    except DoesNotFit as e:
        result = {"status": NO_FIT, "note": str(e)}
    except (MemoryError, RuntimeError) as e:
        status = NO_FIT if is_out_of_memory(e) else ERROR
        result = {"status": status, "note": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
    conn.send(result)
    conn.close()


def run_in_child(job: dict, cap_bytes: int, timeout: float) -> dict:
    """`measure(**job)` (or `end_to_end`) in a fresh process; kills it when it outgrows
    `cap_bytes` (or the machine runs low) or runs past `timeout` seconds."""
    context = multiprocessing.get_context("forkserver")
    receive, send = context.Pipe(duplex=False)
    # By its module's name, which the fork server has imported (not __main__'s).
    target = importlib.import_module("benchmarks.long_input").child
    process = context.Process(target=target, args=(send, job))
    started = time.monotonic()
    process.start()
    send.close()
    result = None
    try:
        while True:
            if receive.poll(0.1):  # a result, or the child closed its end by dying
                with contextlib.suppress(EOFError):
                    result = receive.recv()
                break
            resident = proc_status_bytes("VmRSS", process.pid)
            if resident > cap_bytes * 1.02:
                result = {"status": NO_FIT, "note": f"killed at {resident / MiB:.0f} MiB"}
                break
            if meminfo_bytes("MemAvailable") < GiB:  # before the kernel kills someone else
                note = f"killed at {resident / MiB:.0f} MiB: the machine ran low on memory"
                result = {"status": NO_FIT, "note": note}
                break
            if time.monotonic() - started > timeout:
                result = {"status": SLOW, "note": f"killed after {timeout:.0f} s"}
                break
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()
    if result is None:  # died without a word: SIGKILL is the kernel's out-of-memory killer
        status = NO_FIT if process.exitcode == -9 else ERROR
        result = {"status": status, "note": f"exit code {process.exitcode}"}
    return result


def start_workers() -> None:
    """Start the fork server with our modules imported and glibc told to return large freed
    blocks at once (so resident memory follows live memory, as in benchmarks.memory)."""
    env = {
        "MALLOC_MMAP_THRESHOLD_": "131072",
        "MALLOC_ARENA_MAX": "2",
        # Each worker re-runs `python -m benchmarks.long_input`'s module as __mp_main__, which
        # the server has already imported; runpy warns about that, harmlessly.
        "PYTHONWARNINGS": "ignore::RuntimeWarning:runpy",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        forkserver.set_forkserver_preload(["benchmarks.long_input"])
        forkserver.ensure_running()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ------------------------------------------------------------------------------ the sweep
def sweep(args: argparse.Namespace, systems: list[str], cap_bytes: int) -> list[dict]:
    """Every system at each length in turn until it stops fitting (or gets too slow);
    one row per (system, length) tried."""
    rows: list[dict] = []
    active = list(systems)
    for length in args.lengths:
        if not active:
            break
        runs: dict[str, list[dict]] = {s: [] for s in active}
        for repeat in range(args.repeats):
            for system in active:
                done = runs[system]
                if repeat == 0:
                    projected = projected_seconds(rows, system, length)
                    if projected is not None and projected > args.max_seconds:
                        done.append({"status": SLOW, "projected_seconds": projected})
                        continue
                elif done[0]["status"] != OK or done[0]["seconds"] > args.single_above:
                    continue
                job = dict(
                    system=system,
                    length=length,
                    preset=args.preset,
                    threads=args.threads,
                    cap_bytes=cap_bytes,
                    led_window=args.led_window,
                )
                done.append(run_in_child(job, cap_bytes, args.max_seconds + 60))
                if done[-1]["status"] == OK and done[-1]["seconds"] > args.max_seconds:
                    done[-1]["status"] = SLOW
                print_run(system, length, done[-1])
        for system in list(active):
            rows.append(summarize_runs(system, length, runs[system]))
            if rows[-1]["status"] != OK:
                active.remove(system)
    return rows


def projected_seconds(rows: list[dict], system: str, length: int) -> float | None:
    """Time at `length` extrapolated from the system's last two lengths (at least linear)."""
    done = [r for r in rows if r["system"] == system and r["status"] == OK]
    if not done:
        return None
    last = done[-1]
    slope = 1.0
    if len(done) > 1:
        prev = done[-2]
        slope = max(1.0, fitted_slope([prev, last]))
    return last["seconds"] * (length / last["length"]) ** slope


def summarize_runs(system: str, length: int, runs: list[dict]) -> dict:
    """One row: the first run's status, medians over the runs that worked."""
    good = [r for r in runs if r["status"] == OK]
    row = {"system": system, "length": length, "status": runs[0]["status"]}
    if runs[0]["status"] == OK or "seconds" in runs[0]:
        timed = [r for r in runs if "seconds" in r]
        row["seconds"] = statistics.median(r["seconds"] for r in timed)
        row["all_seconds"] = [r["seconds"] for r in timed]
        if "attention_seconds" in timed[0]:
            row["attention_seconds"] = statistics.median(r["attention_seconds"] for r in timed)
    if good or "peak_mib" in runs[0]:
        measured = [r for r in runs if "peak_mib" in r]
        row["peak_mib"] = statistics.median(r["peak_mib"] for r in measured)
        row["total_peak_mib"] = max(r["total_peak_mib"] for r in measured)
        row["parameters"] = measured[0]["parameters"]
    for key in ("note", "projected_seconds"):
        if key in runs[0]:
            row[key] = runs[0][key]
    return row


def fitted_slope(rows: list[dict], key: str = "seconds") -> float:
    """Least-squares exponent k of value ~ length^k over the rows (log-log fit)."""
    xs = [math.log(r["length"]) for r in rows]
    ys = [math.log(max(r[key], 1e-9)) for r in rows]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0


def plural(count: int | str, noun: str) -> str:
    """'1 thread', '2 threads'."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def print_run(system: str, length: int, run: dict) -> None:
    if run["status"] == OK:
        print(
            f"{system:<15} {length:>9,} {run['seconds']:>9.2f} s {run['peak_mib']:>9.0f} MiB "
            f"(total {run['total_peak_mib']:.0f} MiB)",
            flush=True,
        )
    else:
        extra = run.get("note") or f"projected {run.get('projected_seconds', 0):.0f} s"
        print(f"{system:<15} {length:>9,} {run['status']} ({extra})", flush=True)


# ----------------------------------------------------------------------------- the report
def analyse(report: dict) -> dict:
    """Longest length per system, growth exponents and the issue's targets."""
    out: dict = {"longest": {}, "time_slope": {}, "memory_slope": {}, "stopped": {}}
    for part in ("forward", "train"):
        for system in report["systems"][part]:
            rows = [r for r in report[part] if r["system"] == system and r["status"] == OK]
            out["longest"][system] = max((r["length"] for r in rows), default=None)
            fit = [r for r in rows if r["length"] >= 4096]
            if len(fit) >= 2:
                out["time_slope"][system] = fitted_slope(fit)
                out["memory_slope"][system] = fitted_slope(fit, "peak_mib")
            failed = [r for r in report[part] if r["system"] == system and r["status"] != OK]
            if failed:
                keys = ("length", "status", "projected_seconds")
                stop = {k: failed[0][k] for k in keys if k in failed[0]}
                if len(rows) >= 2 and "peak_mib" not in failed[0]:
                    # Would it have fitted? Memory extrapolated like time, from the last two.
                    last, slope = rows[-1], fitted_slope(rows[-2:], "peak_mib")
                    grown = last["peak_mib"] * (stop["length"] / last["length"]) ** slope
                    stop["projected_total_mib"] = last["total_peak_mib"] - last["peak_mib"] + grown
                out["stopped"][system] = stop

    def cell(system: str, length: int) -> dict | None:
        for r in report["forward"] + report["train"]:
            if r["system"] == system and r["length"] == length:
                return r
        return None

    lsh64, full64 = cell("lsh", 65536), cell("full", 65536)
    lsh16, lsh4, ref16 = cell("lsh", 16384), cell("lsh", 4096), cell("reformer", 16384)
    targets = {}
    if lsh64 and full64:
        targets["lsh_64k_fits_full_does_not"] = lsh64["status"] == OK and full64["status"] == NO_FIT
        if lsh64["status"] == OK and "seconds" in full64:
            targets["full_over_lsh_64k"] = full64["seconds"] / lsh64["seconds"]
    if lsh64 and lsh16 and lsh64["status"] == OK and lsh16["status"] == OK:
        ratio = lsh64["seconds"] / lsh16["seconds"]
        targets["lsh_time_64k_over_16k"] = ratio
        targets["reference_ratios_64k_over_16k"] = {
            "n": 4.0,
            "n log n": 4 * math.log(65536) / math.log(16384),
            "n^2": 16.0,
        }
    if lsh16 and ref16 and lsh16["status"] == OK and ref16["status"] == OK:
        targets["lsh_over_reformer_16k"] = lsh16["seconds"] / ref16["seconds"]
        targets["lsh_no_slower_than_reformer_16k"] = lsh16["seconds"] <= ref16["seconds"]
        targets["lsh_attention_over_reformer_attention_16k"] = (
            lsh16["attention_seconds"] / ref16["attention_seconds"]
        )
    if lsh4 and lsh16 and lsh4["status"] == OK and lsh16["status"] == OK:
        targets["lsh_time_16k_over_4k"] = lsh16["seconds"] / lsh4["seconds"]
    out["targets"] = targets
    return out


def print_tables(report: dict) -> None:
    s = report["settings"]
    print(
        f"\npreset {s['preset']}, batch 1, {plural(s['threads'], 'thread')}, memory cap "
        f"{s['memory_cap_gib']:.1f} GiB, time cap {s['max_seconds']:.0f} s"
    )
    for part, title in (("forward", "encoder forward"), ("train", "encoder training step")):
        systems = report["systems"][part]
        if not systems:
            continue
        print(f"\n{title}: seconds / peak MiB above the start of the call")
        print(f"{'length':>9} " + " ".join(f"{name:>22}" for name in systems))
        for length in sorted({r["length"] for r in report[part]}):
            cells = [text_cell(report[part], name, length) for name in systems]
            print(f"{length:>9,} " + " ".join(f"{c:>22}" for c in cells))
    analysis = report["analysis"]
    print("\nlongest length that fits and finishes:")
    for system, length in analysis["longest"].items():
        print(f"  {system:<15} {length or 0:>9,}")
    for key, value in analysis["targets"].items():
        print(f"  {key}: {value}")
    for e in report.get("end_to_end", []):
        print("\nend to end:", end_to_end_text(e))


def text_cell(rows: list[dict], system: str, length: int) -> str:
    for r in rows:
        if r["system"] == system and r["length"] == length:
            if r["status"] == OK:
                return f"{r['seconds']:.2f} s / {r['peak_mib']:,.0f}"
            return r["status"]
    return "-"


def md_cell(rows: list[dict], system: str, length: int, key: str) -> str:
    for r in rows:
        if r["system"] == system and r["length"] == length:
            if r["status"] == OK and key in r:
                if key.endswith("seconds"):
                    return f"{r[key]:.2f}" if r[key] < 100 else f"{r[key]:.0f}"
                return f"{r[key]:,.0f}"
            if r["status"] == SLOW and "projected_seconds" in r:
                return f"over time cap (~{r['projected_seconds']:,.0f} s projected)"
            if r["status"] == SLOW and key in r:
                value = f"{r[key]:.0f}" if key == "seconds" else f"{r[key]:,.0f}"
                return f"{value} (over time cap)"
            return r["status"]
    return "–"


def write_report(report: dict, out_dir: Path) -> None:
    """Its section of RESULTS.md and the two plots in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot(report, out_dir / "long_input_time.png", "seconds", "seconds")
    plot(report, out_dir / "long_input_memory.png", "peak_mib", "peak memory (MiB)")
    write_section(out_dir, markdown(report))


def markdown(report: dict) -> str:
    s, a = report["settings"], report["analysis"]
    systems, labels = report["systems"], {**FORWARD_SYSTEMS, **TRAIN_SYSTEMS}
    lsh = s["model"]["lsh"]
    lines = [
        "# Long inputs on limited memory",
        "",
        f"Written by `{s.get('command', 'python -m benchmarks.long_input')}` "
        f"({s['machine']['cpus']} CPU cores, {s['machine']['memory_gib']:.1f} GiB; "
        f"{plural(s['threads'], 'torch thread')}; batch 1; random "
        "weights). Every system has the "
        f"`{s['preset']}` preset's shape: d_model {s['model']['d_model']}, "
        f"{s['model']['layers']} layers, {s['model']['heads']} heads, d_ff {s['model']['d_ff']}. "
        f"LSH settings (ours and Reformer's): chunk {lsh['chunk_len']}, {lsh['n_buckets']} "
        f"buckets, {lsh['n_hashes']} hashes, {lsh['chunks_before']} chunk before and "
        f"{lsh['chunks_after']} after. LED: window {s['model']['led_window']}, no global tokens. "
        'Our full-attention encoder is the same model with `encoder_attention="full"` '
        "(PyTorch's fused `scaled_dot_product_attention`).",
        "",
        f"Each cell is one fresh process, capped at {s['memory_cap_gib']:.1f} GiB "
        f'("does not fit" beyond) and {s["max_seconds"]:.0f} s per call ("over time cap", '
        "also when the time extrapolated from the last two lengths is over it). Time: median "
        f"of {s['repeats']} interleaved runs (one where a call took over "
        f"{s['single_above']:.0f} s). Memory: peak resident memory during the call minus "
        "resident memory just before it (the model, its gradients and the inputs are not "
        "counted).",
    ]
    load = s["machine"].get("load_average")
    if load:
        lines[-1] += (
            f" Load average {load[0]:.1f} at the start and {load[1]:.1f} at the end: other "
            "work on the machine slows the systems alike (they are interleaved) but shows in "
            "absolute times."
        )
    lines.append("")
    for part, title in (
        ("forward", "Encoder forward (inference)"),
        ("train", "One training step of our encoder (forward + backward, dropout on)"),
    ):
        names = systems[part]
        if not names:
            continue
        lengths = sorted({r["length"] for r in report[part]})
        tables = [("seconds", "seconds"), ("peak_mib", "peak MiB")]
        if part == "forward":
            tables.insert(1, ("attention_seconds", "seconds in the attention sublayers"))
        for key, what in tables:
            lines += [f"### {title}: {what}", ""]
            lines.append("| tokens | " + " | ".join(labels[n] for n in names) + " |")
            lines.append("|---" * (len(names) + 1) + "|")
            for length in lengths:
                cells = [md_cell(report[part], n, length, key) for n in names]
                lines.append(f"| {length:,} | " + " | ".join(cells) + " |")
            lines.append("")
    lines += [
        "![time vs length](long_input_time.png)",
        "![memory vs length](long_input_memory.png)",
        "",
        "Dashed lines: O(n), O(n log n) and O(n²) through the first point of our LSH encoder.",
        "",
        "## Longest input that fits and finishes",
        "",
        "| system | longest tokens | next length | time exponent (≥ 4k) | memory exponent (≥ 4k) |",
        "|---|---|---|---|---|",
    ]
    for part in ("forward", "train"):
        for n in systems[part]:
            longest = a["longest"].get(n)
            then = stop_text(a["stopped"].get(n))
            t_slope = a["time_slope"].get(n)
            m_slope = a["memory_slope"].get(n)
            lines.append(
                f"| {labels[n]} | {f'{longest:,}' if longest else 'none'} | {then} | "
                f"{f'{t_slope:.2f}' if t_slope is not None else '–'} | "
                f"{f'{m_slope:.2f}' if m_slope is not None else '–'} |"
            )
    t = a["targets"]
    lines += ["", "## Targets", ""]
    if "lsh_64k_fits_full_does_not" in t:
        lines.append(
            f"- Ours handles 64k tokens where full attention does not fit: "
            f"{'met' if t['lsh_64k_fits_full_does_not'] else 'not met'}."
        )
        if "full_over_lsh_64k" in t:
            lines[-1] += (
                f" Full attention fits at 64k too, but takes {t['full_over_lsh_64k']:.1f}× "
                "our time there, and its time grows with length²."
            )
        heads = s["model"]["heads"]
        matrix_gib = heads * 4 * 65536**2 / GiB
        lines.append(
            f"  (A materialized 65,536² attention matrix would take {matrix_gib:.0f} GiB per "
            f"layer for {heads} heads in fp32; PyTorch's fused kernel never builds it, "
            "so our full-attention encoder's memory grows linearly, and its time quadratically.)"
        )
    if "lsh_time_64k_over_16k" in t:
        refs = t["reference_ratios_64k_over_16k"]
        lines.append(
            f"- Time from 16k to 64k tokens grows {t['lsh_time_64k_over_16k']:.2f}× "
            f"(O(n): {refs['n']:.2f}×, O(n log n): {refs['n log n']:.2f}×, "
            f"O(n²): {refs['n^2']:.0f}×): "
            f"{'met' if t['lsh_time_64k_over_16k'] <= 1.1 * refs['n log n'] else 'not met'} "
            "(target: close to O(n log n))."
        )
    if "lsh_over_reformer_16k" in t:
        lines.append(
            f"- At 16k tokens ours takes {t['lsh_over_reformer_16k']:.2f}× HF Reformer's time: "
            f"{'met' if t['lsh_no_slower_than_reformer_16k'] else 'not met'} (target ≤ 1). "
            "Its attention sublayers alone take "
            f"{t['lsh_attention_over_reformer_attention_16k']:.2f}× the time of Reformer's."
        )
    lines += [
        "",
        "## Notes",
        "",
        "- Our encoder's Sparse FF computes the dense product plus its controller on long "
        "inputs (the gather path is for decoding, ≤ 8 tokens), and Sparse QKV adds its "
        "convolutions, so whole-encoder times compare more than attention; the attention "
        "table compares the LSH layers themselves (each sublayer with its projections and "
        "LayerNorm).",
        "- Reformer cuts the globally sorted sequence into chunks; ours chunks each bucket on "
        "its own (exactly causal, padding-inert; README) and pads each bucket's last chunk.",
        f"- LED in transformers {report['settings'].get('transformers', '?')}: `LEDEncoder` "
        "expands the (batch, length) attention mask to (batch, 1, length, length) and keeps "
        "one row of it (`_prepare_4d_attention_mask_inverted(...)[:, 0, 0, :]`), so its "
        "memory grows with length² although Longformer attention itself is linear.",
    ]
    if report.get("end_to_end"):
        lines += ["", "## End to end", ""]
        lines += [f"- {end_to_end_text(e)}" for e in report["end_to_end"]]
        summary = report["end_to_end"][0].get("summary")
        if summary:
            lines += [
                "",
                "What it wrote (unrelated papers one after another, far past the length the "
                "model was trained on: this times the pipeline, it does not judge summaries):",
                "",
            ]
            lines += ["> " + "\n> ".join(summary.splitlines())]
    return "\n".join(lines) + "\n"


def stop_text(stop: dict | None) -> str:
    """Why a system was not measured at the next length (table cell)."""
    if stop is None:
        return "(longest length tried)"
    text = f"{stop['length']:,}: {stop['status']}"
    extra = []
    if "projected_seconds" in stop:
        extra.append(f"~{stop['projected_seconds']:,.0f} s")
    if "projected_total_mib" in stop:
        extra.append(f"~{stop['projected_total_mib'] / 1024:.1f} GiB")
    return text + (f" (projected {', '.join(extra)})" if extra else "")


def end_to_end_text(e: dict) -> str:
    if e["status"] != OK:
        return f"The long document was not summarized: {e['status']} ({e.get('note', '')})."
    t = e["seconds"]
    beams = "greedy" if e["num_beams"] == 1 else f"{e['num_beams']} beams"
    return (
        f"`Summarizer` ({e['model_dir']}, trained on {e['trained_input_tokens']:,}-token "
        f"inputs; {plural(e.get('threads', '?'), 'thread')}) on a {e['document_tokens']:,}-token "
        "document (validation papers one after another), its encoder reading "
        f'{e["encoder_tokens"]:,} tokens; {beams}, summary length "{e["length"]}": encoder '
        f"{t['encode']:.1f} s, decoding (the decoder's prefill over the input, then cached "
        f"steps) {t['generate']:.1f} s, {t['total']:.1f} s in all; peak memory "
        f"{e['peak_mib']:,.0f} MiB above the loaded model ({e['total_peak_mib']:,.0f} MiB total)."
    )


def plot(report: dict, path: Path, key: str, ylabel: str) -> None:
    """Log-log `key` vs length: forward on the left, training step on the right, with dashed
    O(n), O(n log n), O(n²) references through our LSH encoder's first point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {**FORWARD_SYSTEMS, **TRAIN_SYSTEMS}
    parts = [p for p in ("forward", "train") if report["systems"][p]]
    fig, axes = plt.subplots(1, len(parts), figsize=(6 * len(parts), 4.5), squeeze=False)
    for ax, part in zip(axes[0], parts, strict=True):
        anchor, values, measured = None, [], set()
        for system, marker in zip(report["systems"][part], "osD^v", strict=False):
            rows = [r for r in report[part] if r["system"] == system and r["status"] == OK]
            if not rows:
                continue
            xs, ys = [r["length"] for r in rows], [max(r[key], 1e-3) for r in rows]
            ax.plot(xs, ys, marker=marker, fillstyle="none", label=labels[system])
            values += ys
            measured.update(xs)
            if anchor is None:
                anchor = (xs[0], ys[0])
        if not values:
            continue
        low, high = min(values) / 2, max(values) * 2  # the references must not squash the data
        ax.set_ylim(low, high)
        lengths = sorted(measured)
        if anchor and len(lengths) > 1:
            x0, y0 = anchor
            xs = [x for x in lengths if x >= x0]
            for name, f in (
                ("O(n)", lambda x: x),
                ("O(n log n)", lambda x: x * math.log(x)),
                ("O(n²)", lambda x: x * x),
            ):
                ys = [y0 * f(x) / f(x0) for x in xs]
                ax.plot(xs, ys, linestyle="--", color="grey", linewidth=0.8)
                inside = [(x, y) for x, y in zip(xs, ys, strict=True) if y <= high]
                ax.annotate(name, inside[-1], fontsize=8, color="grey", ha="right", va="bottom")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("input tokens")
        ax.set_ylabel(ylabel)
        ax.set_title("encoder forward" if part == "forward" else "encoder training step")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# --------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", help="input lengths in tokens")
    parser.add_argument("--systems", nargs="*", default=list(FORWARD_SYSTEMS))
    parser.add_argument("--train-systems", nargs="*", default=list(TRAIN_SYSTEMS))
    parser.add_argument("--preset", default="small")
    parser.add_argument("--led-window", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--memory-gib", type=float, help="memory cap per process (default: memory less 1.5 GiB)"
    )
    parser.add_argument("--max-seconds", type=float, default=300.0, help="time cap per call")
    parser.add_argument(
        "--single-above", type=float, default=30.0, help="measure once when a call takes longer"
    )
    parser.add_argument("--quick", action="store_true", help="lengths 512 and 1024, one repeat")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--report", help="write its RESULTS.md section and plots into this folder")
    parser.add_argument("--from-json", help="no sweep: report the results in this file")
    parser.add_argument(
        "--end-to-end", metavar="MODEL_DIR", help="also time the Summarizer on a long document"
    )
    parser.add_argument("--e2e-tokens", type=int, default=65536)
    parser.add_argument("--e2e-data", default="../shared/data/arxiv/val.jsonl.gz")
    parser.add_argument("--e2e-length", default="medium", help="summary length (Summarizer)")
    parser.add_argument(
        "--e2e-num-beams", type=int, nargs="+", help="one run each (default: the model's)"
    )
    parser.add_argument("--e2e-max-seconds", type=float, default=1800.0)
    args = parser.parse_args(argv)
    argv_used = sys.argv[1:] if argv is None else argv
    unknown = set(args.systems) - set(FORWARD_SYSTEMS) | set(args.train_systems) - set(
        TRAIN_SYSTEMS
    )
    if unknown:
        parser.error(
            f"unknown systems {sorted(unknown)}; choose from {list(FORWARD_SYSTEMS)} "
            f"and {list(TRAIN_SYSTEMS)}"
        )

    if args.from_json:
        report = json.loads(Path(args.from_json).read_text())
    else:
        if args.quick:
            args.repeats = 1
        args.lengths = args.lengths or (QUICK_LENGTHS if args.quick else DEFAULT_LENGTHS)
        total = meminfo_bytes("MemTotal")
        cap_gib = args.memory_gib if args.memory_gib else total / GiB - 1.5
        report = {
            "settings": {
                "command": " ".join(["python -m benchmarks.long_input", *argv_used]),
                "preset": args.preset,
                "threads": args.threads,
                "repeats": args.repeats,
                "memory_cap_gib": cap_gib,
                "max_seconds": args.max_seconds,
                "single_above": args.single_above,
                "lengths": args.lengths,
                "model": settings_of(args.preset, args.led_window),
                "machine": {"cpus": os.cpu_count(), "memory_gib": total / GiB},
                "torch": torch.__version__,
                "transformers": transformers.__version__,
            },
            "systems": {"forward": args.systems, "train": args.train_systems},
        }
        start_workers()
        cap = int(cap_gib * GiB)
        load_before = os.getloadavg()[0]
        report["forward"] = sweep(args, args.systems, cap)
        report["train"] = sweep(args, args.train_systems, cap)
        # Other work on the machine slows every system alike (runs are interleaved), but
        # it shows in absolute times.
        report["settings"]["machine"]["load_average"] = [load_before, os.getloadavg()[0]]
    report["analysis"] = analyse(report)
    if args.end_to_end:
        start_workers()
        report["end_to_end"] = []
        for num_beams in args.e2e_num_beams or [None]:
            job = dict(
                task="end_to_end",
                model_dir=args.end_to_end,
                tokens=args.e2e_tokens,
                data=args.e2e_data,
                threads=args.threads,
                cap_bytes=int(report["settings"]["memory_cap_gib"] * GiB),
                length=args.e2e_length,
                num_beams=num_beams,
            )
            result = run_in_child(job, job["cap_bytes"], args.e2e_max_seconds)
            report["end_to_end"].append({"threads": args.threads, **result})
            print("end to end:", end_to_end_text(report["end_to_end"][-1]), flush=True)
    print_tables(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    if args.report:
        write_report(report, Path(args.report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
