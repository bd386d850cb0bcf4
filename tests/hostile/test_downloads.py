"""Issue 16 items 2, 6, 7 (download lock), 10 (tar device node, URL with spaces): downloads stay confined and checked."""
from __future__ import annotations

import io
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from cocoseg.datasets import load_data_yaml
from cocoseg.datasets.download import download_dataset, download_file, parse_download, unpack
from cocoseg.errors import CocosegError, DataError


def _yaml(tmp_path: Path, download: str) -> Path:
    path = tmp_path / "d.yaml"
    path.write_text(f"path: {tmp_path / 'ds'}\ntrain: images/train\nval: images/val\nnames: [a]\n{download}")
    return path


def test_download_to_outside_root_is_refused(tmp_path: Path) -> None:
    cfg = load_data_yaml(_yaml(tmp_path, f"download:\n  - url: https://example.invalid/x.zip\n    to: {tmp_path / 'home'}\n"))
    with pytest.raises(DataError, match="outside the dataset root"):
        download_dataset(cfg)
    assert not (tmp_path / "home").exists()


def test_unpack_beside_root_keeps_members_under_its_name(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ds/labels/x.txt", "0 0.1 0.1 0.2 0.2 0.3 0.1\n")
        zf.writestr(".bashrc", "evil")
    with pytest.raises(DataError, match=r"\.bashrc.*under ds/"):
        unpack(archive, tmp_path / "out", under="ds")
    assert not (tmp_path / "out" / ".bashrc").exists()


def test_file_urls_from_a_yaml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file://"):
        parse_download([{"url": "file:///etc/passwd"}], "d.yaml")


def test_file_url_given_directly_works(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 100)
    got = download_file(src.as_uri(), tmp_path / "dl" / "f.bin", size=100)
    assert got.read_bytes() == b"x" * 100


@pytest.mark.parametrize("entry, match", [
    ({"md5": 0}, "md5 must be a quoted string of 32 hex"),          # YAML: md5: 000...0
    ({"md5": 12345}, "md5 must be a quoted string"),
    ({"md5": "abc"}, "32 hex digits"),
    ({"sha256": "z" * 64}, "sha256"),
    ({"size": "132"}, "size must be a whole number"),
    ({"size": True}, "size must be a whole number"),
])
def test_checksums_are_typed(entry: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        parse_download([{"url": "https://example.invalid/x.zip", **entry}], "d.yaml")


def test_zero_md5_from_yaml_text_is_refused(tmp_path: Path) -> None:
    cfg = load_data_yaml(_yaml(tmp_path, "download:\n  - url: https://example.invalid/x.zip\n"
                                         "    md5: 00000000000000000000000000000000\n"))
    with pytest.raises(DataError, match="md5"):
        download_dataset(cfg)


def test_packaged_yaml_checksums_are_well_typed() -> None:
    cfg = load_data_yaml("coco-seg")
    items = parse_download(cfg.download, "coco-seg.yaml")
    assert all(it.md5 is None or len(it.md5) == 32 for it in items)


def test_url_with_spaces_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(CocosegError, match="whitespace"):
        download_file("https://example.invalid/a b.zip", tmp_path / "x.zip", backoff=10.0)


def test_tar_device_node_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("dev0")
        info.type = tarfile.CHRTYPE
        info.devmajor, info.devminor = 1, 3
        tf.addfile(info)
        data = b"ok"
        info = tarfile.TarInfo("ok.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    with pytest.raises(DataError, match="special-file member dev0"):
        unpack(archive, tmp_path / "out")


def test_two_downloads_of_one_item_share_a_lock(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"y" * 5_000_000)
    dest = tmp_path / "dl" / "f.bin"
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            download_file(src.as_uri(), dest, size=5_000_000)
        except BaseException as exc:  # noqa: BLE001 (collected for the assertion)
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors and dest.stat().st_size == 5_000_000
    assert not dest.with_name("f.bin.part").exists()
