"""User text on a label is printed as text, never obeyed as markup, and rendering fetches nothing but the project's
own assets (SPEC §9)."""
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.labels import render
from lims.lots.models import Product
from lims.studies.models import Subject
from tests.labels.conftest import pdf_text
from tests.support import label

IMG = '<img src="file:///etc/passwd">'
LINK = '<link rel=stylesheet href="http://127.0.0.1:9/x.css">'


@pytest.fixture
def fetched(monkeypatch):
    """Every URL any label rendering asks its fetcher for, in order."""
    urls = []

    class RecordingFetcher(render.AssetOnlyFetcher):
        def fetch(self, url, headers=None):
            urls.append(url)
            return super().fetch(url, headers)

    monkeypatch.setattr(render, "AssetOnlyFetcher", RecordingFetcher)
    return urls


def hostile_bag(bag, subject_code=IMG, product_name=LINK):
    subject = db.session.scalar(select(Subject).where(Subject.code == bag["subject_code"]))
    subject.code = subject_code
    product = db.session.scalar(select(Product).where(Product.code == "S1234"))
    product.name = product_name
    db.session.commit()
    db.session.expunge_all()


def squash(text):
    return re.sub(r"\s+", "", text)


def inside_assets(url):
    parsed = urlparse(url)
    return parsed.scheme == "file" and Path(unquote(parsed.path)).resolve().is_relative_to(render.ASSETS)


def test_markup_in_subject_code_and_product_name_prints_as_literal_text(api, bag, fetched):
    hostile_bag(bag)
    r = label(api, bag["code"])
    assert r.status_code == 200, r.get_json(silent=True)
    text = squash(pdf_text(r.data))
    assert squash(IMG) in text
    assert squash(LINK) in text


def test_rendering_hostile_text_fetches_only_project_assets(api, bag, fetched):
    hostile_bag(bag)
    assert label(api, bag["code"]).status_code == 200
    assert fetched, "the recording fetcher saw no request: the test would prove nothing"
    assert any(url.endswith("/label.css") for url in fetched)  # the stylesheet and fonts do come through it
    outside = [url for url in fetched if not inside_assets(url)]
    assert outside == []
    assert not any("passwd" in url or url.startswith(("http:", "https:")) for url in fetched)


def test_hostile_text_swapped_between_fields_is_also_inert(api, bag, fetched):
    hostile_bag(bag, subject_code=IMG.replace("file:///etc/passwd", "http://x"), product_name=IMG)
    r = label(api, bag["code"])
    assert r.status_code == 200
    assert squash(IMG) in squash(pdf_text(r.data))
    assert all(inside_assets(url) for url in fetched)


def test_fetcher_refuses_a_file_outside_the_assets():
    fetcher = render.AssetOnlyFetcher()
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")
    assert fetcher.refused == ["file:///etc/passwd"]


def test_fetcher_refuses_http_without_connecting():
    fetcher = render.AssetOnlyFetcher()
    for url in ("http://127.0.0.1:9/x.css", "https://example.org/font.ttf", "ftp://127.0.0.1/x"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 3


def test_fetcher_refuses_path_traversal_out_of_the_assets():
    url = f"file://{render.ASSETS}/../render.py"
    fetcher = render.AssetOnlyFetcher()
    with pytest.raises(ValueError):
        fetcher.fetch(url)
    with pytest.raises(ValueError):
        fetcher.fetch(f"file://{render.ASSETS}/%2e%2e/render.py")


def test_fetcher_serves_the_projects_own_stylesheet():
    fetcher = render.AssetOnlyFetcher()
    response = fetcher.fetch((render.ASSETS / "label.css").as_uri())
    body = response.read() if hasattr(response, "read") else response.get("string", b"")
    assert b"@font-face" in body
    assert fetcher.refused == []
