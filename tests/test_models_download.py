"""Model downloads against a local HTTP server on 127.0.0.1 (never the internet).

The server serves a fake Hugging Face repo tree (``/{repo}/resolve/{revision}/{path}``) holding
the tiny test model, and can misbehave on demand: drop the connection mid-file, ignore Range,
redirect to a "CDN" path, or serve corrupted bytes.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
from pathlib import Path

import pytest
from huisou.plugins.clip_search.download import DownloadError, VerifyError, download_model
from huisou.plugins.clip_search.model_catalog import CatalogEntry, FileSpec, find_entry

TINY = Path(__file__).resolve().parent / "models" / "tiny_clip"
REPO, REV = "test-org/tiny-clip", "0123456789abcdef0123456789abcdef01234567"
FILES = ["config.json", "textual/model.onnx", "textual/tokenizer.json",
         "textual/tokenizer_config.json", "visual/model.onnx", "visual/preprocess_cfg.json"]
BIG = "textual/model.onnx"


class FakeHub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.files = {rel: (TINY / rel).read_bytes() for rel in FILES}
        self.drop_after: dict[str, int] = {}  # path -> bytes to send before hanging up (once)
        self.ignore_range = False
        self.redirect = False
        self.requests: list[tuple[str, str | None]] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    server: FakeHub

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        hub = self.server
        hub.requests.append((self.path, self.headers.get("Range")))
        prefix = f"/{REPO}/resolve/{REV}/"
        if hub.redirect and self.path.startswith(prefix):
            self.send_response(302)
            self.send_header("Location", "/cdn/" + self.path[len(prefix):])
            self.end_headers()
            return
        rel = None
        for start in (prefix, "/cdn/"):
            if self.path.startswith(start):
                rel = self.path[len(start):]
        if rel not in hub.files:
            self.send_error(404)
            return
        data = hub.files[rel]
        start = 0
        rng = self.headers.get("Range")
        if rng and not hub.ignore_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = hub.drop_after.pop(rel, None)
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


@pytest.fixture
def hub():
    server = FakeHub()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _entry(overrides: dict[str, dict] | None = None, name: str = "tiny-remote") -> CatalogEntry:
    """sha256+size for the towers, size only for two JSON files, nothing for tokenizer.json."""
    specs = []
    for rel in FILES:
        data = (TINY / rel).read_bytes()
        kw: dict = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        if rel.endswith("_config.json"):
            kw["sha256"] = None
        if rel == "textual/tokenizer.json":
            kw = {"size": None, "sha256": None}
        kw.update((overrides or {}).get(rel, {}))
        specs.append(FileSpec(rel, **kw))
    return CatalogEntry(name=name, repo=REPO, revision=REV, languages=("en",),
                        description="test", files=tuple(specs))


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_download_verifies_and_loads(hub, tmp_path):
    seen: list[tuple[str, int, int | None]] = []
    target = download_model(_entry(), tmp_path, progress=lambda *a: seen.append(a),
                            endpoint=hub.endpoint)
    for rel in FILES:
        assert (target / rel).read_bytes() == (TINY / rel).read_bytes()
    assert not list(target.rglob("*.part"))
    record = json.loads((target / "download.json").read_text())
    assert record["revision"] == REV and record["endpoint"] == hub.endpoint
    assert record["files"]["textual/tokenizer.json"]["verified"] == "recorded on first download"
    assert record["files"][BIG]["verified"] == "sha256+size"
    assert seen[-1][0] == "visual/preprocess_cfg.json" and any(s[0] == BIG for s in seen)

    from huisou.plugins.clip_search.backend import OnnxClipBackend

    backend = OnnxClipBackend("tiny-remote", models_dir=str(tmp_path), precision="fp32")
    assert backend.embed_texts(["a cat"]).shape == (1, 32)

    # a second run finds everything verified and downloads nothing
    hub.requests.clear()
    download_model(_entry(), tmp_path, endpoint=hub.endpoint)
    assert hub.requests == []


def test_resume_after_dropped_connection(hub, tmp_path):
    size = len(hub.files[BIG])
    hub.drop_after[BIG] = 1_000_000
    with pytest.raises(DownloadError, match="run the command again to resume"):
        download_model(_entry(), tmp_path, endpoint=hub.endpoint)
    target = tmp_path / "tiny-remote"
    assert not (target / BIG).exists()  # nothing partial in place
    assert (target / (BIG + ".part")).stat().st_size == 1_000_000
    hub.requests.clear()
    download_model(_entry(), tmp_path, endpoint=hub.endpoint)
    assert (target / BIG).read_bytes() == hub.files[BIG] and size > 1_000_000
    ranges = [r for p, r in hub.requests if p.endswith(BIG)]
    assert ranges == ["bytes=1000000-"]
    assert not list(target.rglob("*.part"))


def test_server_ignoring_range_restarts_from_zero(hub, tmp_path):
    hub.drop_after[BIG] = 500_000
    with pytest.raises(DownloadError):
        download_model(_entry(), tmp_path, endpoint=hub.endpoint)
    hub.ignore_range = True
    download_model(_entry(), tmp_path, endpoint=hub.endpoint)
    assert (tmp_path / "tiny-remote" / BIG).read_bytes() == hub.files[BIG]


def test_redirect_keeps_range(hub, tmp_path):
    hub.redirect = True
    hub.drop_after[BIG] = 300_000
    with pytest.raises(DownloadError):
        download_model(_entry(), tmp_path, endpoint=hub.endpoint)
    download_model(_entry(), tmp_path, endpoint=hub.endpoint)
    assert (tmp_path / "tiny-remote" / BIG).read_bytes() == hub.files[BIG]
    assert ("/cdn/" + BIG, "bytes=300000-") in hub.requests


def test_wrong_sha256_leaves_nothing(hub, tmp_path):
    entry = _entry({BIG: {"sha256": "0" * 64}})
    with pytest.raises(VerifyError) as info:
        download_model(entry, tmp_path, endpoint=hub.endpoint)
    message = str(info.value)
    assert "sha256" in message and BIG in message and str(tmp_path / "tiny-remote") in message
    target = tmp_path / "tiny-remote"
    assert not (target / BIG).exists() and not (target / (BIG + ".part")).exists()


def test_wrong_size_and_overlong_part(hub, tmp_path):
    target = tmp_path / "tiny-remote"
    (target / "textual").mkdir(parents=True)
    size = len(hub.files[BIG])
    (target / (BIG + ".part")).write_bytes(b"x" * (size + 10))  # cannot be a prefix
    download_model(_entry(), tmp_path, endpoint=hub.endpoint)
    assert (target / BIG).read_bytes() == hub.files[BIG]
    with pytest.raises(VerifyError, match="size"):
        download_model(_entry({"config.json": {"size": 5}}, name="other"), tmp_path,
                       endpoint=hub.endpoint)
    assert not (tmp_path / "other" / "config.json").exists()


def test_unreachable_server_names_files_url_and_directory(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.raises(DownloadError) as info:
        download_model(_entry(), tmp_path, endpoint=endpoint, timeout=5)
    message = str(info.value)
    assert "\n" not in message
    assert f"{endpoint}/{REPO}/resolve/{REV}/config.json" in message
    assert str(tmp_path / "tiny-remote") in message and "huisou models install" in message
    assert all(rel in message for rel in FILES)
    assert _leftovers(tmp_path) == []


def test_hf_endpoint_is_honoured(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint + "/")
    entry = _entry()
    assert entry.url("config.json") == f"{hub.endpoint}/{REPO}/resolve/{REV}/config.json"
    download_model(entry, tmp_path)
    assert len(hub.requests) == len(FILES)


def test_catalog_urls_use_huggingface_by_default(monkeypatch):
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    entry = find_entry("ViT-B-32__openai")
    assert entry is not None and entry.pinned
    assert entry.url("visual/model.onnx") == (
        "https://huggingface.co/immich-app/ViT-B-32__openai/resolve/"
        "a857c8de2c07bbcfa6646adfcf31b798845afa1e/visual/model.onnx")
    spec = entry.file("visual/model.onnx")
    assert spec and spec.size == 351613724 and spec.verify == "sha256+size"
    assert entry.file("textual/tokenizer.json").verify == "sha256+size"  # re-pinned for it
    chinese = find_entry("chinese-clip-vit-b-16")
    assert chinese.url("vocab.txt") == (  # a file from another repository, pinned too
        "https://huggingface.co/OFA-Sys/chinese-clip-vit-base-patch16/resolve/"
        "c2157b2d1c988d0ab6b3dfc00fcdce53bc7f7f8d/vocab.txt")
    assert all(spec.sha256 for spec in chinese.files) and chinese.import_format == "chinese-clip"


def test_cli_download_with_catalog_mirror_and_quantize(hub, tmp_path, monkeypatch):
    """``huisou models download NAME --quantize`` via HF_ENDPOINT and a catalog file."""
    pytest.importorskip("onnx")
    from click.testing import CliRunner
    from huisou.cli.models_cmd import models

    entry = _entry(name="tiny-cli")
    catalog = {"models": [{
        "name": entry.name, "repo": REPO, "revision": REV, "languages": ["en"],
        "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in entry.files],
    }]}
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    monkeypatch.setenv("HUISOU_MODEL_CATALOG", str(tmp_path / "catalog.json"))
    monkeypatch.setenv("HUISOU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    result = CliRunner().invoke(models, ["download", "tiny-cli", "--quantize"])
    assert result.exit_code == 0, result.output
    target = tmp_path / "home" / "models" / "tiny-cli"
    assert "downloading textual/model.onnx" in result.output  # progress (stderr, not a tty)
    assert (target / "visual" / "model_int8.onnx").is_file()
    assert json.loads((target / "quantization.json").read_text())["checks"]["visual"]
    assert len(hub.requests) == len(FILES)
