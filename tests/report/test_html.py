"""The HTML report: self-contained, one section per part, verdict badges, decodable images,
tables; and the same page looked at in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from surfsight.inspect import run_batch
from surfsight.report.html import format_value, render_report
from tests.inspect.conftest import SPEC, simulated

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    (folder / "spec.yaml").write_text(SPEC)
    good = simulated(folder / "good.x3p", False)
    bad = simulated(folder / "scratched.x3p", True)
    junk = folder / "junk.sur"
    junk.write_bytes(b"\x00" * 100)
    result = run_batch([good, bad, junk], folder / "spec.yaml", folder / "out", model=None)
    return result.report


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(text: str) -> list[tuple[str, dict]]:
    parser = _Collect()
    parser.feed(text)
    return parser.tags


def test_self_contained(report):
    text = report.read_text()
    tags = _tags(text)
    for tag, attrs in tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None:  # only inline images and in-page links
                assert value.startswith(("data:image/png;base64,", "#")), value
    assert not any(tag in ("script", "link", "iframe") for tag, _ in tags)


def test_sections_badges_tables_and_images(report):
    text = report.read_text()
    tags = _tags(text)
    sections = [a for t, a in tags if t == "section" and "part" in (a.get("class") or "").split()]
    # ordered by file: good.x3p, junk.sur, scratched.x3p
    assert [s["data-verdict"] for s in sections] == ["conform", "error", "nonconform"]
    badges = [a["class"] for t, a in tags if t == "span" and "badge" in (a.get("class") or "")]
    assert any("nonconform" in b for b in badges) and any("conform" == b.split()[-1] for b in badges)
    images = [a["src"] for t, a in tags if t == "img"]
    assert len(images) >= 2 * 3  # height map, Abbott, PSD (and margin) for each inspected part
    for src in images:
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert text.count("<table") >= 1 + 2 * 3
    assert "junk.sur" in text and "Review and release" in text


def test_render_report_of_no_rows_and_escaping():
    page = render_report([{"file": "<b>x</b>.x3p", "sha256": None, "status": "error", "verdict": None,
                           "error": "<b>x</b>.x3p: broken & bad"}])
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;.x3p: broken &amp; bad" in page
    assert "<section" in render_report([])


@pytest.mark.parametrize("value, unit, text", [(1.5e-6, "m", ("1.5", "µm")), (3.2e-9, "m", ("3.2", "nm")),
                                               (2e-6, "m3/m2", ("2", "µm³/µm²")), (250e6, "Pa", ("250", "MPa")),
                                               (None, "m", ("—", "")), (12.5, "%", ("12.5", "%"))])
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_report_in_a_headless_browser(report, tmp_path):
    # a copy with a probe that records, after load, whether every image decoded
    probe = ("<script>window.addEventListener('load', () => { const imgs = [...document.images];"
             "document.body.setAttribute('data-images', imgs.length);"
             "document.body.setAttribute('data-decoded', imgs.filter(i => i.complete && i.naturalWidth > 0).length);"
             "});</script>")
    page = tmp_path / "probe.html"
    page.write_text(report.read_text().replace("</body>", probe + "</body>"))
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    images = int(re.search(r'data-images="(\d+)"', dom).group(1))
    decoded = int(re.search(r'data-decoded="(\d+)"', dom).group(1))
    assert images >= 6 and decoded == images
    assert dom.count('class="part"') == 3
    assert 'class="badge nonconform big"' in dom and 'class="badge conform big"' in dom
    assert dom.count("<table") >= 7
    shot = tmp_path / "shot.png"
    subprocess.run([*common, "--window-size=1280,2400", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=120)
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (2400, 1280) and pixels.std() > 10  # something is drawn, not a blank page
