"""End to end in headless Chromium (Debian's, driven by Playwright): grid filter, image page, mask
toggle checked on screenshot pixels, the confusion-matrix click-through, the FP-at-0.75 path."""
from __future__ import annotations

import colorsys
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from cocoseg import masks

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed")
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and Path(p).exists()), None)
if CHROMIUM is None:
    pytest.skip("no chromium binary (Debian: apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def page(server):  # noqa: ANN001, ANN201
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        except Exception as exc:  # noqa: BLE001 - a chromium that cannot start here is a skip, not a failure
            pytest.skip(f"chromium does not start: {exc}")
        tab = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(server.url)
        tab.wait_for_selector("body[data-ready='1']")
        yield tab
        browser.close()
        assert not errors, errors


def _grid_loaded(page) -> None:  # noqa: ANN001
    """Wait until the grid shows its count (no JS evaluation: the page's CSP forbids eval)."""
    sync_api.expect(page.locator("#grid-info")).to_have_text(re.compile(r"^\d+ images$"))


def _base(server) -> str:  # noqa: ANN001
    return f"http://127.0.0.1:{server.port}/"


def test_grid_filter_by_category(page, server, session) -> None:  # noqa: ANN001
    page.goto(_base(server) + "#grid")
    page.wait_for_selector("#grid .card")
    assert page.url.endswith("#grid")  # the token left the address bar (the cookie carries it)
    assert page.locator("#grid .card").count() == 10
    page.select_option("select[name=cat]", "5")
    page.wait_for_url(re.compile("cat=5"))
    _grid_loaded(page)
    shown = {int(x) for x in page.locator("#grid .card").evaluate_all("cs => cs.map(c => c.dataset.id)")}
    expected = {a["image_id"] for a in session.gt.annotations if a["category_id"] == 5}
    expected |= set(session.result.state.dt_image_id[session.result.state.dt_category_id == 5].tolist())
    assert shown == expected


def test_image_page_mask_toggle_pixels(page, server, session) -> None:  # noqa: ANN001
    image_id = int(session.tables.image_ids[0])
    page.goto(_base(server) + f"#image/{image_id}")
    page.wait_for_selector("main[data-drawn='1']")
    page.keyboard.press("p")  # predictions off: only the GT layer is drawn
    pos = session.image_position(image_id)
    im = session.gt.images[pos]
    rows = session.gt.index.by_image[image_id].tolist()
    bitmaps = np.stack([masks.decode(masks.segmentation_to_rle(session.gt.annotations[g]["segmentation"],
                                                                 im["height"], im["width"])) for g in rows])
    k = int(np.argmax(bitmaps.sum(axis=(1, 2))))  # the largest GT, and a pixel only it covers, far from edges
    alone = cv2.erode(((bitmaps[k] > 0) & (bitmaps.sum(0) == 1)).astype(np.uint8), np.ones((9, 9), np.uint8))
    ys, xs = np.nonzero(alone)
    x, y = int(xs[len(xs) // 2]), int(ys[len(ys) // 2])
    canvas = page.locator("#canvas-a")
    box = canvas.bounding_box()
    scale = min(int(box["width"]) / im["width"], int(box["height"]) / im["height"])
    cx = int((int(box["width"]) - im["width"] * scale) / 2 + (x + 0.5) * scale)
    cy = int((int(box["height"]) - im["height"] * scale) / 2 + (y + 0.5) * scale)

    def pixel() -> np.ndarray:
        shot = cv2.imdecode(np.frombuffer(canvas.screenshot(), np.uint8), cv2.IMREAD_COLOR)
        return shot[cy, cx, ::-1].astype(float)  # RGB

    with_mask = pixel()
    page.click("[data-toggle=masks]")
    without = pixel()
    hue = (k * 137.508) % 360 / 360
    colour = np.array(colorsys.hls_to_rgb(hue, 0.55, 0.85)) * 255
    assert np.abs(with_mask - (0.5 * without + 0.5 * colour)).max() < 25, (with_mask, without, colour)
    assert np.abs(with_mask - without).max() > 20
    page.click("[data-toggle=masks]")
    assert np.abs(pixel() - with_mask).max() < 3  # masks back
    page.keyboard.press("p")


def test_dataset_and_runs_pages(page, server) -> None:  # noqa: ANN001
    page.goto(_base(server) + "#dataset")
    page.wait_for_selector("canvas.chart")
    assert page.locator("canvas.chart").count() == 6
    page.goto(_base(server) + "#runs")
    page.wait_for_selector("select[name=run-b]")
    page.select_option("select[name=run-b]", "1")  # overlay the second run
    assert page.locator("text=exp2: final metrics").count() == 1


def test_fp_at_075_from_the_dashboard(page, server, session) -> None:  # noqa: ANN001
    page.goto(_base(server) + "#dashboard")
    page.wait_for_selector("#confusion")
    page.click("a[href*='cat=4&outcome=fp&iou=0.75']")
    page.wait_for_url(re.compile("outcome=fp"))
    _grid_loaded(page)
    shown = {int(x) for x in page.locator("#grid .card").evaluate_all("cs => cs.map(c => c.dataset.id)")}
    st = session.result.state
    t = int(np.flatnonzero(np.isclose(session.result.params.iou_thresholds, 0.75))[0])
    fp = (st.dt_gt[0, t] < 0) & ~st.dt_ignore[0, t] & (st.dt_category_id == 4)
    assert shown == set(st.dt_image_id[fp].tolist()) and shown
    assert page.locator("select[name=outcome]").input_value() == "fp"
    assert page.locator("select[name=iou]").input_value() == "0.75"


def test_confusion_cell_opens_its_images(page, server, session) -> None:  # noqa: ANN001
    cm = session.analyses.parts["confusion"]
    off = cm.matrix.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    ids = [*cm.category_ids, "bg"]
    page.goto(_base(server) + "#dashboard")
    page.wait_for_selector("#confusion")
    page.click(f"#confusion td[data-true='{ids[i]}'][data-pred='{ids[j]}']")
    page.wait_for_url(re.compile("cell="))
    _grid_loaded(page)
    shown = {int(x) for x in page.locator("#grid .card").evaluate_all("cs => cs.map(c => c.dataset.id)")}
    expected = session.analyses.confusion_images(None if ids[i] == "bg" else ids[i], None if ids[j] == "bg" else ids[j])
    assert shown == set(expected) and shown
