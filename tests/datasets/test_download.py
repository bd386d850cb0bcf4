"""Downloads against a local HTTP server on 127.0.0.1: resume after a broken transfer, checks, unpacking."""
from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cocoseg.cli.main import main
from cocoseg.datasets import load_data_yaml
from cocoseg.datasets.download import download_dataset, download_file, ensure_dataset, unpack
from cocoseg.errors import CocosegError, DataError


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


class _Server:
    """Serves `files` with Range support; paths listed in `break_once` send half, then drop the connection."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.break_once: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                rng = self.headers.get("Range")
                owner.requests.append((self.path, rng))
                data = owner.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if self.path in owner.break_once:
                    owner.break_once.discard(self.path)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[_Server]:
    with _Server() as srv:
        yield srv


def test_interrupted_transfer_is_resumed_with_range(server: _Server, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4000  # 1 MB
    server.files["/big.bin"] = payload
    server.break_once.add("/big.bin")
    seen: list[int] = []
    out = download_file(f"{server.url}/big.bin", tmp_path / "big.bin", size=len(payload),
                        md5=hashlib.md5(payload).hexdigest(), sha256=hashlib.sha256(payload).hexdigest(),
                        on_bytes=lambda done, total: seen.append(done), backoff=0.01, timeout=5)
    assert out.read_bytes() == payload
    assert not (tmp_path / "big.bin.part").exists()
    assert server.requests[0] == ("/big.bin", None)
    assert server.requests[1][1] == f"bytes={len(payload) // 2}-"  # resumed where it broke
    assert seen[-1] == len(payload)
    assert download_file(f"{server.url}/big.bin", out, size=len(payload)) == out  # present: no request
    assert len(server.requests) == 2


def test_checksum_mismatch_deletes_and_raises(server: _Server, tmp_path: Path) -> None:
    server.files["/f.bin"] = b"hello world"
    with pytest.raises(CocosegError, match="fails its check"):
        download_file(f"{server.url}/f.bin", tmp_path / "f.bin", md5="0" * 32, backoff=0.01)
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()
    with pytest.raises(CocosegError, match="HTTP 404"):
        download_file(f"{server.url}/missing", tmp_path / "m.bin", backoff=0.01)


def test_dead_server_gives_up_after_bounded_retries(tmp_path: Path) -> None:
    with _Server() as srv:
        url = f"{srv.url}/x"
    with pytest.raises(CocosegError, match="after 2 retries"):
        download_file(url, tmp_path / "x", retries=2, backoff=0.0, timeout=2)


def test_unpack_merges_and_refuses_escaping_members(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip_bytes({"top/x.txt": b"1", "top/sub/y.txt": b"2"}))
    (tmp_path / "dest" / "top").mkdir(parents=True)
    (tmp_path / "dest" / "top" / "keep.txt").write_text("k")
    assert unpack(archive, tmp_path / "dest") == [tmp_path / "dest" / "top"]
    assert (tmp_path / "dest" / "top" / "sub" / "y.txt").read_bytes() == b"2"
    assert (tmp_path / "dest" / "top" / "keep.txt").exists()
    assert not list((tmp_path / "dest").glob(".unpack-*"))
    evil = tmp_path / "evil.zip"
    evil.write_bytes(_zip_bytes({"../outside.txt": b"x"}))
    with pytest.raises(DataError, match="refusing member"):
        unpack(evil, tmp_path / "dest")
    assert not (tmp_path / "outside.txt").exists()


def _yaml(tmp_path: Path, server: _Server, extra: str = "") -> Path:
    text = (f"path: {tmp_path / 'data' / 'toy'}\ntrain: images/train\nval: images/val\nnames: [a]\n"
            "download:\n"
            f"  - url: {server.url}/toy.zip\n    to: ..\n    creates: images/train\n"
            f"  - url: {server.url}/val.zip\n    to: images\n    splits: [val]\n{extra}")
    path = tmp_path / "toy.yaml"
    path.write_text(text)
    return path


def test_download_dataset_and_ensure_dataset(server: _Server, tmp_path: Path) -> None:
    server.files["/toy.zip"] = _zip_bytes({"toy/images/train/1.jpg": b"a", "toy/labels/train/1.txt": b""})
    server.files["/val.zip"] = _zip_bytes({"val/2.jpg": b"b"})
    server.break_once.add("/val.zip")
    cfg = load_data_yaml(_yaml(tmp_path, server))
    assert cfg.missing()
    ensure_dataset(cfg)  # the data is absent: download, resume, unpack
    assert not cfg.missing()
    assert ("/val.zip", None) in server.requests and any(p == "/val.zip" and r for p, r in server.requests)
    assert (cfg.root / "images" / "val" / "2.jpg").read_bytes() == b"b"
    assert not list(cfg.root.rglob("*.zip")) and not list(cfg.root.rglob("*.part"))
    count = len(server.requests)
    assert download_dataset(cfg) == []  # finished items are skipped
    assert len(server.requests) == count


def test_download_cli(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    server.files["/toy.zip"] = _zip_bytes({"toy/images/train/1.jpg": b"a"})
    server.files["/val.zip"] = _zip_bytes({"val/2.jpg": b"b"})
    assert main(["download", str(_yaml(tmp_path, server)), "splits=train"]) == 0
    out = capsys.readouterr().out
    assert "1 item(s) fetched" in out and "not present" in out  # val was not requested
    assert main(["download", str(tmp_path / "nothing.yaml")]) == 1


def test_script_downloads_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("train: a\nval: a\nnames: [x]\ndownload: |\n  import os\n  os.system('echo hi')\n")
    with pytest.raises(DataError, match="runs no code"):
        ensure_dataset(load_data_yaml(path))


def test_synthetic_dataset_is_generated_on_demand(tmp_path: Path) -> None:
    path = tmp_path / "synth.yaml"
    path.write_text("path: gen\ntrain: {images: images/train, annotations: annotations/instances_train.json}\n"
                    "val: {images: images/val, annotations: annotations/instances_val.json}\n"
                    "names: [circle, square, triangle, star, ellipse, ring, pair, cross, person]\n"
                    "synth: {num_images: 4, seed: 0, size: [64, 64], val_fraction: 0.5}\n")
    (tmp_path / "gen").mkdir()
    cfg = ensure_dataset(load_data_yaml(path))
    from cocoseg.convert import load_split

    ds, root = load_split(cfg, "val")
    assert len(ds.images) == 2 and (root / ds.images[0]["file_name"]).exists()


def test_failed_offline_download_says_nothing_was_kept_and_leaves_no_folder(tmp_path: Path) -> None:
    """Issue 14.24: no '.part is kept' when none exists, and no empty dataset folder left behind."""
    dest = tmp_path / "datasets" / "coco" / "labels.zip"
    with pytest.raises(CocosegError) as info:
        download_file("http://127.0.0.1:9/none.zip", dest, retries=0, backoff=0.0, timeout=1.0)
    message = str(info.value)
    assert "nothing was downloaded" in message and "is kept" not in message
    assert not (tmp_path / "datasets").exists()
    assert list(tmp_path.iterdir()) == []
