"""Label rendering with WeasyPrint: HTML from a Jinja template, QR (qrcode) and Code 128 (python-barcode) inline
as SVG, fonts shipped with the project. The URL fetcher serves only this package's assets: user text can never
make the renderer read a file or reach the network."""
import io
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import barcode
import qrcode
import qrcode.image.svg
from barcode.writer import SVGWriter
from flask import render_template
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher

ASSETS = Path(__file__).resolve().parent / "assets"


class AssetOnlyFetcher(URLFetcher):
    """Serves files under ASSETS and refuses every other URL; keeps what it refused, for the record and tests."""

    def __init__(self):
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.refused = []

    def fetch(self, url, headers=None):
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = Path(unquote(parsed.path)).resolve()
            if path.is_relative_to(ASSETS) and path.is_file():
                return super().fetch(url, headers)
        self.refused.append(url)
        raise ValueError(f"label rendering fetches nothing outside its own assets: {url[:80]!r} refused")


def _inline_svg(svg_bytes):
    text = svg_bytes.decode() if isinstance(svg_bytes, bytes) else svg_bytes
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text)
    return Markup(text.strip())


def qr_svg(payload):
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    return _inline_svg(image.to_string())


MM_PER_IN = 25.4
QUIET_MODULES = 10  # Code 128's minimum quiet zone either side: 10 times the narrowest bar


def code128_svg(data, width_in, height_in):
    """A Code 128 symbol drawn by python-barcode at exactly width_in x height_in, quiet zones included: the module
    width is chosen so the symbol fills the width (no scaling by the renderer, so bars stay whole modules)."""
    symbol = barcode.get("code128", data, writer=SVGWriter())
    modules = len(symbol.build()[0])
    module_mm = width_in * MM_PER_IN / (modules + 2 * QUIET_MODULES)
    out = io.BytesIO()
    symbol.write(out, options={"write_text": False, "module_width": module_mm, "quiet_zone": QUIET_MODULES * module_mm,
                               "module_height": height_in * MM_PER_IN, "margin_top": 0, "margin_bottom": 0})
    return _inline_svg(out.getvalue())


def html_for(template, **context):
    return render_template(template, **context)


def render_pdf(html, fetcher=None):
    fetcher = fetcher or AssetOnlyFetcher()
    return HTML(string=html, base_url=str(ASSETS) + "/", url_fetcher=fetcher).write_pdf()
