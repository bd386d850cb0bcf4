"""Fixtures of the viewer's tests: one small synthetic set, its session (analyses done) and a server."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _data import ViewData, make_view_data  # noqa: E402


@pytest.fixture(scope="session")
def view_data(tmp_path_factory: pytest.TempPathFactory) -> ViewData:
    """Images, GT, segm predictions, audit, ranking and runs under a temp folder."""
    return make_view_data(tmp_path_factory.mktemp("view"))


@pytest.fixture(scope="session")
def session(view_data: ViewData, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A ViewSession over `view_data` with every analysis computed."""
    from cocoseg.view import open_session

    s = open_session(view_data.gt, view_data.images, results=view_data.results, audit=view_data.audit,
                     ranking=view_data.ranking, runs=view_data.runs, cache_dir=tmp_path_factory.mktemp("thumbs"))
    s.analyses.run_all()
    return s


@pytest.fixture(scope="session")
def server(session) -> Iterator:  # noqa: ANN001
    """The viewer serving `session` on 127.0.0.1 in a background thread."""
    from cocoseg.view.server import ViewServer

    srv = ViewServer(session)
    srv.start_background()
    yield srv
    srv.shutdown()
    srv.server_close()
