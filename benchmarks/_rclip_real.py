"""Real rclip 4.x, run offline on a random-weight stand-in of its model (for ``indexing.py``).

rclip downloads ``ViT-B-32-256-datacomp_s34b_b86k`` from Hugging Face on first use, which
these machines cannot do. It skips the download when its data directory (``RCLIP_DATADIR``)
already holds ``<subdir>/visual.onnx``, ``<subdir>/textual.onnx``, the BPE vocabulary and four
legal files (rclip 4.0.8 ``model_download.py``). The stand-in puts there the benchmark's own
ViT-B-32-256 export with rclip's tensor names (``input`` -> ``output``; the text tower gets an
int64 input cast to the export's int32), and the vocabulary rebuilt from the export's
``tokenizer.json`` merges. Speed does not depend on weight values, so rclip then indexes at the
speed it would with its real model, and huisou runs the very same architecture and weights.

rclip preprocesses at 256 px, so only a 256 px model directory (``--arch ViT-B-32-256``) can
stand in; ``status`` says why rclip was not run otherwise.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from _bench_util import cache_dir, run_child

MODEL_SUBDIR = "ViT-B-32-256-datacomp_s34b_b86k"
LEGAL_FILES = ("LICENSE", "OPENAI-CLIP-MIT.txt", "README.md", "THIRD_PARTY_NOTICES.md")
VOCAB = "tokenizer/bpe_simple_vocab_16e6.txt.gz"
QUERY = "a photo of a dog on a beach"


def status(model: Path) -> dict[str, Any]:
    """``{"run": True, "python": exe}`` when rclip 4.x and a fitting model exist, else why not."""
    candidates = [os.environ.get("HUISOU_BENCH_RCLIP_PYTHON"), "/work/venv-rclip/bin/python"]
    candidates += [shutil.which(n) for n in ("python3.13", "python3.12")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-3]*/bin/python3")))
    seen_python = None
    for exe in filter(None, candidates):
        if not Path(exe).exists():
            continue
        probe = subprocess.run(
            [exe, "-c", "import sys; assert sys.version_info >= (3, 12), 'old'; "
             "import importlib.metadata as m; print(m.version('rclip'))"],
            capture_output=True, text=True)
        if probe.returncode != 0:
            if "AssertionError" not in probe.stderr:  # a Python >= 3.12 without rclip
                seen_python = seen_python or exe
            continue
        version = probe.stdout.strip()
        if not version.startswith("4."):
            return {"run": False, "python": exe,
                    "reason": f"{exe} has rclip {version}; the stand-in follows rclip 4.x"}
        size = _image_size(model)
        if size != 256:
            return {"run": False, "python": exe, "version": version,
                    "reason": f"rclip {version} preprocesses at 256 px but {model.name} takes "
                    f"{size} px: run with --arch ViT-B-32-256 to compare against real rclip"}
        return {"run": True, "python": exe, "version": version}
    where = f"{seen_python} (Python >= 3.12) has no rclip" if seen_python else "no Python >= 3.12"
    return {"run": False, "reason": f"{where}; install it with `python3.12 -m venv "
            "/work/venv-rclip && /work/venv-rclip/bin/pip install rclip==4.0.8` "
            "(or set HUISOU_BENCH_RCLIP_PYTHON)"}


def _image_size(model: Path) -> int:
    cfg = json.loads((model / "visual" / "preprocess_cfg.json").read_text())
    size = cfg.get("size", 224)
    return int(size[0] if isinstance(size, list) else size)


def standin(model: Path) -> Path:
    """rclip's data-directory layout for ``model`` (built once, cached next to the models)."""
    out = cache_dir() / "rclip-standin" / model.name
    source = {rel: _stat_key(model / rel) for rel in
              ("visual/model.onnx", "textual/model.onnx", "textual/tokenizer.json")}
    with contextlib.suppress(OSError, ValueError):
        if json.loads((out / "done").read_text()) == {"from": str(model), "files": source}:
            return out
    tmp = Path(tempfile.mkdtemp(prefix=".rclip-", dir=out.parent.parent))
    try:
        (tmp / MODEL_SUBDIR).mkdir()
        _rename_tower(model / "visual" / "model.onnx", tmp / MODEL_SUBDIR / "visual.onnx", None)
        _rename_tower(model / "textual" / "model.onnx", tmp / MODEL_SUBDIR / "textual.onnx",
                      cast_input_to_int32=True)
        (tmp / "tokenizer").mkdir()
        merges = json.loads((model / "textual" / "tokenizer.json").read_text())["model"]["merges"]
        lines = [m if isinstance(m, str) else " ".join(m) for m in merges]
        with gzip.open(tmp / VOCAB, "wt", encoding="utf-8") as fh:
            fh.write("#version: 0.2\n" + "\n".join(lines) + "\n")
        for name in LEGAL_FILES:
            (tmp / name).write_text("random-weight stand-in for benchmarking; not rclip's model\n")
        (tmp / "done").write_text(json.dumps({"from": str(model), "files": source}) + "\n")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _stat_key(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _rename_tower(src: Path, dst: Path, cast_input_to_int32: bool | None) -> None:
    """Copy an ONNX tower with rclip's names: graph input ``input``, output ``output``."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(src))
    graph = model.graph
    old_in, old_out = graph.input[0].name, graph.output[0].name
    if cast_input_to_int32:
        # rclip feeds int64 token ids; the export takes int32: cast in front, keep the name
        graph.node.insert(0, helper.make_node("Cast", ["input"], [old_in], to=TensorProto.INT32))
        graph.input[0].type.tensor_type.elem_type = TensorProto.INT64
    else:
        for node in graph.node:
            node.input[:] = ["input" if name == old_in else name for name in node.input]
    graph.input[0].name = "input"
    for node in graph.node:
        node.output[:] = ["output" if name == old_out else name for name in node.output]
    graph.output[0].name = "output"
    onnx.save(model, str(dst))


def run(python: str, folder: Path, template: Path, count: int, timeout: float) -> dict[str, Any]:
    """rclip's first run over ``folder`` (index + one query), then an unchanged re-run.

    The re-run is rclip's fixed cost per invocation (start, scan, text model, query); the
    first run minus it is its indexing time, which gives ``photos_per_s``.
    """
    datadir = Path(tempfile.mkdtemp(prefix="huisou-bench-rclip-real-"))
    try:
        for entry in template.iterdir():
            if entry.name != "done":
                (datadir / entry.name).symlink_to(entry)
        env = {**os.environ, "RCLIP_DATADIR": str(datadir)}
        cmd = [python, "-m", "rclip", "--filepath-only", "--top", "1", QUERY]
        first = run_child(cmd, env=env, timeout=timeout, cwd=str(folder))
        again = run_child(cmd, env=env, timeout=timeout, cwd=str(folder))
        stored = _stored(datadir / "db.sqlite3")
        ok = first.returncode == 0 and again.returncode == 0 and stored == count
        index_s = first.wall - again.wall
        tail = (first.stderr or again.stderr or "").strip().splitlines()[-3:]
        return {
            "ok": ok,
            "wall_s": round(first.wall, 3),
            "rerun_wall_s": round(again.wall, 3),
            "index_s": round(index_s, 3),
            "photos_per_s": round(count / index_s, 3) if ok and index_s > 0 else None,
            "cpu_s": round(first.cpu, 3),
            "rerun_cpu_s": round(again.cpu, 3),
            "peak_rss_mb": round(first.peak_rss_mb, 1),
            "stored": stored,
            "inner_s": None,
            "error": None if ok else f"exit {first.returncode}/{again.returncode}, stored "
            f"{stored} of {count}: {' | '.join(tail)}"[:600],
        }
    finally:
        shutil.rmtree(datadir, ignore_errors=True)


def _stored(db_path: Path) -> int | None:
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM images WHERE deleted IS NULL").fetchone()[0])
    except sqlite3.Error:
        return None
