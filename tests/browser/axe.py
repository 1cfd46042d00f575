"""axe-core in chromium: an audit of the page as it stands, and a crawl that finds the pages a role reaches.

axe-core is the npm package, installed by the test command (scripts/test.sh) into .cache/axe, which is not
committed. It is added to each page as an init script, through the DevTools protocol, so the pages' own Content
Security Policy ('self' scripts only) stays as it is and still applies to everything else.
"""
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urldefrag, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

AXE_VERSION = "4.14.1"  # the version of issue 20's audit; scripts/test.sh installs exactly this one
AXE_JS = Path(os.environ.get("LIMS_AXE_JS") or Path(__file__).resolve().parents[2] / ".cache" / "axe"
              / "node_modules" / "axe-core" / "axe.min.js")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]  # WCAG 2.1 A and AA, what Section 508 and EN 301 549 ask

RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => ({rule: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 200)}))}));
}"""

# Links whose target is a file or a machine's answer, not a page a person reads.
NOT_PAGES = re.compile(r"\.(pdf|csv|json|svg|png|zip|txt|xml)$|^/(api|static)/", re.IGNORECASE)
FILE_FORMATS = {"csv", "pdf", "json"}


# A GET form (a filter, a search) sent as it stands, with its fields' own values: a page of results, changing nothing.
GET_FORMS = """forms => forms.filter(f => (f.getAttribute("method") || "get").toLowerCase() === "get").map(f => {
  const url = new URL(f.getAttribute("action") || "", document.baseURI);  // f.action may be a field named action
  for (const [name, value] of new FormData(f)) { if (typeof value === "string") url.searchParams.append(name, value); }
  return url.href;
})"""


def install(context):
    if not AXE_JS.is_file():
        pytest.fail(f"axe-core is missing at {AXE_JS}: scripts/test.sh installs it "
                    f"(npm install --prefix .cache/axe axe-core@{AXE_VERSION})")
    installed = json.loads((AXE_JS.parent / "package.json").read_text())["version"]
    if installed != AXE_VERSION:
        pytest.fail(f"axe-core {installed} at {AXE_JS}, not {AXE_VERSION}: scripts/test.sh installs the right one")
    context.add_init_script(path=str(AXE_JS))


@dataclass
class Audit:
    """What axe found on every page seen, and the pages seen, in order."""
    pages: list = field(default_factory=list)
    violations: list = field(default_factory=list)

    def check(self, page, where):
        """Runs axe over the page as it is now (a dialog open, a refusal shown); `where` names it in the report."""
        page.wait_for_load_state("load")
        self.pages.append(where)
        for v in page.evaluate(RUN, WCAG_TAGS):
            for node in v["nodes"]:
                self.violations.append(f"{v['rule']} ({v['impact']}) on {where}: {node['target']}\n"
                                       f"      {v['help']}\n      {node['html']}")

    def report(self):
        return "\n".join(f"  {p}" for p in self.pages)

    def assert_clean(self):
        assert not self.violations, (f"axe-core {AXE_VERSION} (WCAG 2.1 A/AA): {len(self.violations)} violation(s)\n"
                                     + "\n".join(f"  - {v}" for v in self.violations)
                                     + f"\npages checked:\n{self.report()}")


def shape(path_and_query):
    """A page's kind: ids and codes replaced by N, the query by its keys; so /lots/1 and /lots/2 are one kind."""
    parts = urlsplit(path_and_query)
    keys = sorted({k for k, _ in parse_qsl(parts.query)})
    return re.sub(r"\d+", "N", parts.path) + ("?" + "&".join(keys) if keys else "")


def is_page_link(site, href):
    url, _ = urldefrag(href)
    parts = urlsplit(url)
    if not url.startswith(site + "/") or NOT_PAGES.search(parts.path):
        return False
    return not any(k == "format" and v.lower() in FILE_FORMATS for k, v in parse_qsl(parts.query))


def crawl(page, site, audit, label, limit=60, per_shape=2, on_page=None):
    """Every page reached by links from the home page (its nav included), breadth first: at most `limit` pages and
    `per_shape` of each kind. Each is audited as it loads, then `on_page(page, where)` may audit more states of it
    (its dialogs open). Only links and GET forms (filters, searches) are followed: no POST form is ever sent, so the
    crawl changes nothing. Pages left when the limit is reached are named in the audit's list."""
    queue, seen, kinds = ["/"], {"/"}, {}
    visited = 0
    while queue and visited < limit:
        path = queue.pop(0)
        try:
            response = page.goto(site + path)
        except PlaywrightError as e:
            if "Download is starting" in str(e):  # a link that starts a download is a file, not a page
                continue
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        visited += 1
        where = f"{label} {path}" + ("" if response.status == 200 else f" [{response.status}]")
        audit.check(page, where)
        if on_page:
            on_page(page, where)
        for href in page.eval_on_selector_all("a[href]:not([download])", "els => els.map(a => a.href)") + \
                page.eval_on_selector_all("form", GET_FORMS):
            if not is_page_link(site, href):
                continue
            target = urldefrag(href)[0][len(site):]
            kind = shape(target)
            if target in seen or kinds.get(kind, 0) >= per_shape:
                continue
            seen.add(target)
            kinds[kind] = kinds.get(kind, 0) + 1
            queue.append(target)
    if queue:
        audit.pages.append(f"{label}: crawl stopped at {limit} pages; not reached: {', '.join(queue)}")
    return visited
