"""PDF records (audit copies, certificates of analysis) with WeasyPrint. The renderer fetches nothing from outside:
its URL fetcher serves this package's stylesheet and the fonts the project ships with its labels, and refuses every
other URL (user text in a record can never make it read a file or reach the network)."""
from pathlib import Path
from urllib.parse import unquote, urlparse

from weasyprint import HTML

from lims.labels.render import AssetOnlyFetcher

ASSETS = Path(__file__).resolve().parent / "assets"
FONTS = Path(__file__).resolve().parent.parent / "labels" / "assets" / "fonts"


class RecordAssetFetcher(AssetOnlyFetcher):
    def fetch(self, url, headers=None):
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = Path(unquote(parsed.path)).resolve()
            if (path.is_relative_to(ASSETS) or path.is_relative_to(FONTS)) and path.is_file():
                return super(AssetOnlyFetcher, self).fetch(url, headers)
        self.refused.append(url)
        raise ValueError(f"record rendering fetches nothing outside its own assets: {url[:80]!r} refused")


def render_pdf(html, fetcher=None):
    return HTML(string=html, base_url=str(ASSETS) + "/", url_fetcher=fetcher or RecordAssetFetcher()).write_pdf()
