"""The server refuses what it must: no token, a wrong one, a foreign Host, files outside the images folder."""
from __future__ import annotations

import http.client
import json
import os

import pytest

from cocoseg.errors import CocosegError
from cocoseg.view import open_session
from cocoseg.view.server import ViewServer


def _get(srv, path: str, host: str | None = None, headers: dict | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", host or f"127.0.0.1:{srv.port}")
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    res = conn.getresponse()
    res.body = res.read()
    conn.close()
    return res


def test_token_required(server) -> None:
    assert _get(server, "/api/status").status == 403
    assert _get(server, "/api/status?token=wrong").status == 403
    assert _get(server, "/", headers={"Cookie": "cocoseg_view=wrong"}).status == 403
    ok = _get(server, f"/api/status?token={server.token}")
    assert ok.status == 200 and json.loads(ok.body)["images"] == 10
    cookie = ok.getheader("Set-Cookie")
    assert f"cocoseg_view={server.token}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert _get(server, "/api/status", headers={"Cookie": f"cocoseg_view={server.token}"}).status == 200
    assert not [h for h, _ in ok.getheaders() if h.lower().startswith("access-control")]  # no CORS


def test_foreign_host_refused(server) -> None:
    for host in (f"evil.example:{server.port}", "127.0.0.1:1", "attacker.test"):
        assert _get(server, f"/api/status?token={server.token}", host=host).status == 403
    assert _get(server, f"/api/status?token={server.token}", host=f"localhost:{server.port}").status == 200


@pytest.mark.parametrize("path", ["/static/../server.py", "/static/..%2f..%2fserver.py", "/static//etc/passwd",
                                  "/static/%2e%2e/%2e%2e/__init__.py", "/api/image/../../etc/passwd"])
def test_traversal_refused(server, path: str) -> None:
    res = _get(server, path + ("&" if "?" in path else "?") + f"token={server.token}")
    assert res.status in (400, 404) and b"import" not in res.body and b"root:" not in res.body


def test_files_outside_the_images_folder(view_data, tmp_path) -> None:
    outside = tmp_path / "secret.png"
    outside.write_bytes((view_data.images / "000001.png").read_bytes())
    images = tmp_path / "imgs"
    images.mkdir()
    os.symlink(outside, images / "link.png")
    (images / "ok.png").write_bytes(outside.read_bytes())
    gt = json.loads(view_data.gt.read_text())
    gt["images"] = gt["images"][:4]
    gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in {im["id"] for im in gt["images"]}]
    names = ["../secret.png", str(outside), "link.png", "ok.png"]
    for im, name in zip(gt["images"], names):
        im["file_name"] = name
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    srv = ViewServer(open_session(tmp_path / "gt.json", images, cache_dir=tmp_path / "cache"))
    srv.start_background()
    try:
        ids = [im["id"] for im in gt["images"]]
        for image_id in ids[:3]:  # traversal, absolute path, symlink out: refused, file and thumbnail
            assert _get(srv, f"/api/image/{image_id}/file?token={srv.token}").status == 404
            assert _get(srv, f"/api/thumb/{image_id}?token={srv.token}").status == 404
        assert _get(srv, f"/api/image/{ids[3]}/file?token={srv.token}").status == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_binds_loopback_only(session) -> None:
    for host in ("0.0.0.0", "192.168.1.10", "::", "localhost"):
        with pytest.raises(CocosegError, match="127.0.0.1 only"):
            ViewServer(session, host=host)
    srv = ViewServer(session)
    try:
        assert srv.server_address[0] == "127.0.0.1" and srv.url.startswith(f"http://127.0.0.1:{srv.port}/?token=")
    finally:
        srv.server_close()


def test_read_only(server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", f"/api/status?token={server.token}", body=b"{}")
    assert conn.getresponse().status in (403, 405)
    conn.close()
