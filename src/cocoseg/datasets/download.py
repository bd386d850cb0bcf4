"""Downloads: resumable HTTP transfers (Range), size/checksum checks, safe unpacking, datasets on demand.

Nothing is left half-written: bytes go to `<file>.part` (resumed on the next try or run), the
file appears under its name only after its size and checksums match, archives are unpacked into
a temporary folder beside the destination and moved into place entry by entry, and a marker
records a finished item. The library reports progress through callbacks and never prints.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from http.client import HTTPException, InvalidURL
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from cocoseg.datasets.dataset_yaml import DataConfig
from cocoseg.datasets.download_files import item_lock, missing_parents, remove_if_unused
from cocoseg.errors import CocosegError, DataError

# on_bytes(done, total): cumulative bytes of the current file (total None when unknown)
ByteProgress = Callable[[int, "int | None"], None]
MARKER_DIR = ".cocoseg-downloads"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DownloadItem:
    """One file to fetch: where to unpack it (relative to the dataset root), what it creates, checks."""

    url: str
    to: str = "."
    creates: str | None = None
    splits: tuple[str, ...] = ()
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None

    @property
    def filename(self) -> str:
        """The file name in the URL."""
        return PurePosixPath(self.url.split("?")[0]).name or "download"


def parse_download(spec: Any, file: str = "dataset YAML") -> list[DownloadItem]:
    """A YAML `download` value (a URL, or a list of URLs or item mappings) as items; scripts are refused."""
    if spec is None or spec == "":
        return []
    if isinstance(spec, str):
        if "\n" in spec.strip() or not spec.strip().startswith(("http://", "https://")):
            raise DataError(f"{file}: 'download' holds a script; cocoseg runs no code from dataset YAMLs. "
                            "Download the data by hand, or list archive URLs under 'download'")
        return [DownloadItem(spec.strip(), to="..")]  # Ultralytics zips hold the dataset's own top folder
    if not isinstance(spec, list):
        raise DataError(f"{file}: 'download' must be a URL or a list of items")
    items = []
    for k, entry in enumerate(spec):
        entry = {"url": entry, "to": ".."} if isinstance(entry, str) else entry
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise DataError(f"{file}: download[{k}] needs a 'url'")
        unknown = set(entry) - {"url", "to", "creates", "splits", "size", "md5", "sha256"}
        if unknown:
            raise DataError(f"{file}: download[{k}] has unknown keys {sorted(unknown)}")
        where = f"{file}: download[{k}]"
        _check_url(entry["url"], where)
        items.append(DownloadItem(entry["url"], str(entry.get("to", ".")), entry.get("creates"),
                                  tuple(entry.get("splits") or ()), _size(entry.get("size"), where),
                                  _digest(entry, "md5", where), _digest(entry, "sha256", where)))
    return items


_DIGEST_LENGTH = {"md5": 32, "sha256": 64}


def _digest(entry: dict, key: str, where: str) -> str | None:
    """A checksum must be a hex string of its length: YAML makes 000...0 the integer 0 and 12345 a number."""
    value = entry.get(key)
    if value is None:
        return None
    n = _DIGEST_LENGTH[key]
    if type(value) is not str or len(value) != n or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise DataError(f"{where}: {key} must be a quoted string of {n} hex digits, got {value!r} "
                        f"({type(value).__name__}); quote it in the YAML: {key}: \"...\"")
    return value.lower()


def _size(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise DataError(f"{where}: size must be a whole number of bytes, got {value!r} ({type(value).__name__})")
    return value


def _check_url(url: str, where: str, allow_file: bool = False) -> None:
    """http(s) only from a YAML (file:// reads local files: only when given by the user); no whitespace."""
    if any(c.isspace() for c in url):
        raise DataError(f"{where}: URL {url!r} contains whitespace; percent-encode it (%20)")
    schemes = ("http://", "https://", "file://") if allow_file else ("http://", "https://")
    if not url.startswith(schemes):
        raise DataError(f"{where}: URL {url!r} must be http:// or https:// "
                        "(file:// URLs are accepted only when given directly, not from a dataset YAML)")


def download_file(url: str, dest: str | Path, size: int | None = None, md5: str | None = None,
                  sha256: str | None = None, on_bytes: ByteProgress | None = None, retries: int = 5,
                  timeout: float = 60.0, backoff: float = 1.0) -> Path:
    """Fetch `url` to `dest`, resuming `dest.part` with HTTP Range; verify size/checksums; return `dest`.

    A transfer that breaks is resumed up to `retries` times in a row without progress. A wrong
    size or checksum deletes the partial file and raises CocosegError; `dest` only ever appears
    complete.
    """
    dest = Path(dest)
    _check_url(url, "download", allow_file=True)
    if dest.exists() and _verified(dest, size, md5, sha256):
        return dest
    created = missing_parents(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with item_lock(dest):  # a second download of this file waits, then finds it done
            if dest.exists() and _verified(dest, size, md5, sha256):
                return dest
            return _fetch(url, dest, size, md5, sha256, on_bytes, retries, timeout, backoff)
    except BaseException:
        remove_if_unused(dest, created)
        raise


def _fetch(url: str, dest: Path, size: int | None, md5: str | None, sha256: str | None,
           on_bytes: ByteProgress | None, retries: int, timeout: float, backoff: float) -> Path:
    part = dest.with_name(dest.name + ".part")
    failures, total = 0, size
    while True:
        done = part.stat().st_size if part.exists() else 0
        if total is not None and done >= total:
            if done > total:
                part.unlink()
                continue
            break
        try:
            finished, total = _transfer(url, part, done, total, on_bytes, timeout)
        except (InvalidURL, ValueError) as exc:  # a malformed URL fails the same way every time
            raise CocosegError(f"{url}: invalid URL: {exc}") from None
        except (urllib.error.URLError, HTTPException, OSError, socket.timeout) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code not in (408, 429, 500, 502, 503, 504):
                raise CocosegError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            moved = (part.stat().st_size if part.exists() else 0) > done
            failures = 0 if moved else failures + 1
            if failures > retries:
                kept = part.exists() and part.stat().st_size > 0
                what = (f"the partial file {part.name} ({part.stat().st_size} bytes) is kept and resumed next time"
                        if kept else "nothing was downloaded")
                raise CocosegError(f"{url}: download failed after {retries} retries: {exc} ({what})") from None
            time.sleep(backoff * min(failures, 5))
            continue
        if finished:
            break
    if not _verified(part, total, md5, sha256):
        got = part.stat().st_size
        part.unlink()
        raise CocosegError(f"{url}: the downloaded file fails its check (size {got}, expected "
                           f"{total if total is not None else 'any'}; md5/sha256 as listed); deleted, try again")
    os.replace(part, dest)
    return dest


def _transfer(url: str, part: Path, done: int, total: int | None, on_bytes: ByteProgress | None,
              timeout: float) -> tuple[bool, int | None]:
    """One request from byte `done`; returns (complete, total size)."""
    headers = {"User-Agent": "cocoseg"}
    if done:
        headers["Range"] = f"bytes={done}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and done:  # nothing left to send: the part is complete (verified next)
            return True, done
        raise
    with response:
        length = response.headers.get("Content-Length")
        if done and response.status != 206:
            done = 0  # the server ignored the Range request: start over
        elif done and not (response.headers.get("Content-Range") or "").startswith(f"bytes {done}-"):
            done = 0
        expected = done + int(length) if length is not None else total
        total = total if total is not None else expected
        with open(part, "ab" if done else "wb") as fh:
            got = done
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                fh.write(chunk)
                got += len(chunk)
                if on_bytes:
                    on_bytes(got, total)
    if expected is not None and got < expected:
        raise ConnectionError(f"connection closed after {got} of {expected} bytes")
    return True, total if total is not None else got


def _verified(path: Path, size: int | None, md5: str | None, sha256: str | None) -> bool:
    if size is not None and path.stat().st_size != size:
        return False
    if md5 is None and sha256 is None:
        return True
    digests = {name: hashlib.new(name) for name, want in (("md5", md5), ("sha256", sha256)) if want}
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            for d in digests.values():
                d.update(block)
    return all(d.hexdigest() == {"md5": md5, "sha256": sha256}[n].lower() for n, d in digests.items())


def is_archive(path: Path) -> bool:
    """Zip or tar (optionally compressed)."""
    return zipfile.is_zipfile(path) or (path.is_file() and tarfile.is_tarfile(path))


def unpack(archive: str | Path, dest_dir: str | Path, under: str | None = None) -> list[Path]:
    """Unpack a zip/tar into `dest_dir` (merging with what is there); returns the top-level entries.

    Entries are extracted into a temporary folder beside the destination, then moved into place,
    so an interrupted unpack leaves no half-written file in `dest_dir`. Members that would land
    outside `dest_dir` (absolute paths, '..') are refused, and so are members outside the top folder
    `under` when one is given.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    for stale in dest_dir.glob(f".unpack-{archive.name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".unpack-{archive.name}-", dir=dest_dir))
    try:
        _extract(archive, tmp, under)
        tops = sorted(tmp.iterdir())
        for entry in tops:
            _move_merge(entry, dest_dir / entry.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [dest_dir / e.name for e in tops]


def _extract(archive: Path, into: Path, under: str | None = None) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                _check_member(name, archive, under)
            zf.extractall(into)
        return
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for m in members:
            _check_member(m.name, archive, under)
            if m.isdev() or m.isfifo():
                raise DataError(f"{archive}: refusing special-file member {m.name} (device or pipe)")
            if m.issym() or m.islnk():
                raise DataError(f"{archive}: refusing link member {m.name}")
        extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tf.extractall(into, members=members, **extra)


def _check_member(name: str, archive: Path, under: str | None = None) -> None:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts:
        raise DataError(f"{archive}: refusing member {name!r} (outside the destination)")
    if under is not None and (not p.parts or p.parts[0] != under):
        raise DataError(f"{archive}: refusing member {name!r}: this archive unpacks beside the dataset root, "
                        f"so every member must lie under {under}/")


def _move_merge(src: Path, dst: Path) -> None:
    if src.is_dir() and dst.is_dir():
        for child in sorted(src.iterdir()):
            _move_merge(child, dst / child.name)
        return
    if dst.is_dir() and not dst.is_symlink():
        shutil.rmtree(dst)
    os.replace(src, dst)


def _target(cfg: DataConfig, item: DownloadItem) -> tuple[Path, str | None]:
    """Where `item` unpacks: inside the dataset root, or its parent with every member under the root's name."""
    root = Path(cfg.root).resolve()
    dest = (root / item.to).resolve()
    if dest == root or root in dest.parents:
        return dest, None
    if dest == root.parent:  # Ultralytics zips hold the dataset's own top folder
        return dest, root.name
    raise DataError(f"{cfg.yaml_file or 'dataset'}: download 'to: {item.to}' of {item.url} lies outside the "
                    f"dataset root {root}; targets must stay inside it")


def describe_size(size: int | None) -> str:
    """'1.2 GB' for a listed size, or that the size is not listed."""
    if size is None:
        return "size not listed"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def _log_item(item: DownloadItem, k: int, n: int) -> None:
    """What an automatic download says before it starts (the CLI configures where it goes)."""
    logging.getLogger("cocoseg").warning("downloading [%d/%d] %s (%s)", k + 1, n, item.url, describe_size(item.size))


def _marker(root: Path, item: DownloadItem) -> Path:
    key = hashlib.sha1(item.url.encode()).hexdigest()[:10]
    return root / MARKER_DIR / f"{item.filename}.{key}.done"


def item_done(root: Path, item: DownloadItem) -> bool:
    """Finished before: its marker exists, or what it creates is present (placed by hand)."""
    if _marker(root, item).exists():
        return True
    dest = (root / item.to).resolve()
    return item.creates is not None and (root / item.creates).exists() and \
        not any(dest.glob(f".unpack-{item.filename}-*"))


def download_dataset(cfg: DataConfig, splits: list[str] | None = None, keep_archives: bool = False,
                     on_item: Callable[[DownloadItem, int, int], None] | None = None,
                     on_bytes: ByteProgress | None = None, retries: int = 5) -> list[DownloadItem]:
    """Fetch and unpack the items of `cfg.download` serving `splits` (default: all but 'test').

    Items already done are skipped; returns the items fetched this time.
    """
    items = parse_download(cfg.download, str(cfg.yaml_file or "dataset"))
    if not items:
        raise DataError(f"{cfg.yaml_file or 'dataset'}: no 'download' entry; fetch the data by hand into {cfg.root}")
    wanted = set(splits) if splits else {s for s in cfg.splits if s != "test"}
    todo = [it for it in items if (not it.splits or wanted & set(it.splits)) and not item_done(cfg.root, it)]
    for k, item in enumerate(todo):
        if on_item:
            on_item(item, k, len(todo))
        dest_dir, under = _target(cfg, item)
        path = download_file(item.url, dest_dir / item.filename, item.size, item.md5, item.sha256,
                             on_bytes=on_bytes, retries=retries)
        if is_archive(path):
            unpack(path, dest_dir, under)
            if not keep_archives:
                path.unlink()
        marker = _marker(cfg.root, item)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(item.url + "\n", encoding="utf-8")
    return todo


def ensure_dataset(cfg: DataConfig, on_item: Callable[[DownloadItem, int, int], None] | None = None,
                   on_bytes: ByteProgress | None = None) -> DataConfig:
    """Make the data of `cfg` present: generate it (`synth:`), download it (`download:`), or explain what is missing."""
    missing = cfg.missing()
    if not missing:
        return cfg
    if cfg.synth is not None:
        from cocoseg.synth import generate

        args = dict(cfg.synth)
        if isinstance(args.get("size"), list):
            args["size"] = tuple(args["size"])
        try:
            generate(cfg.root, **args)
        except TypeError as exc:  # an unknown or misspelt key under synth:
            raise DataError(f"{cfg.yaml_file or 'dataset'}: synth: {exc}".replace("generate() ", "")) from None
    elif cfg.download:
        download_dataset(cfg, on_item=on_item or _log_item, on_bytes=on_bytes)
    else:
        shown = ", ".join(str(p) for p in missing[:3])
        raise DataError(f"{cfg.yaml_file or 'dataset'}: missing {shown}; no 'download' or 'synth' entry to obtain it")
    still = cfg.missing()
    if still:
        raise DataError(f"{cfg.yaml_file or 'dataset'}: still missing after obtaining the data: "
                        f"{', '.join(str(p) for p in still[:3])}")
    return cfg
