"""The service's API pages (/docs, /redoc) work on a closed network: every asset is its own."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from twitchrules.service import ServiceConfig

from ..test_html_chromium import _command
from .conftest import LiveServer

_REFERENCE = re.compile(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_page_loads_nothing_from_elsewhere(serve, page: str) -> None:
    """Every script, stylesheet, icon and spec the page names is a path on the service itself."""
    server = serve()
    html = httpx.get(server.url + page, timeout=10)
    assert html.status_code == 200
    references = _REFERENCE.findall(html.text)
    assert references, html.text[:500]
    assert "/openapi.json" in references
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = httpx.get(server.url + reference, timeout=10)
        assert asset.status_code == 200 and len(asset.content) > 100, reference
    assert "fonts.googleapis" not in html.text and "cdn." not in html.text


def _rendered_offline(url: str, profile: Path) -> str:
    """The DOM headless Chromium builds for ``url`` when no host but loopback resolves."""
    command = _command(profile, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                       "--virtual-time-budget=15000", "--dump-dom", url)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_swagger_ui_renders_the_operations_with_no_network(serve, tmp_path: Path) -> None:
    """Headless Chromium, every host but loopback unresolvable, renders the service's operations."""
    dom = _rendered_offline(serve().url + "/docs", tmp_path / "profile")
    assert 'data-path="/cds-services"' in dom and 'data-path="/cds-services/{service_id}"' in dom, dom[-3000:]


def test_a_cdn_page_stays_blank_with_no_network(tmp_path: Path) -> None:
    """The control: FastAPI's own /docs (assets from a CDN) renders no operation under the same cut."""
    app = FastAPI()

    @app.get("/cds-services")
    def discovery() -> dict[str, list[str]]:
        return {"services": []}

    server = LiveServer(app, ServiceConfig(audit_log=tmp_path / "audit.jsonl")).start()
    try:
        assert httpx.get(server.url + "/openapi.json", timeout=10).status_code == 200
        dom = _rendered_offline(server.url + "/docs", tmp_path / "profile")
    finally:
        server.stop()
    assert "cdn.jsdelivr.net" in dom and "data-path=" not in dom
