"""The built site in a real browser: offline, every page rendered, every link resolved.

The site is served on 127.0.0.1 from a thread of the test process and read by Debian's
``chromium`` (headless, driven by Playwright; ``make test`` installs chromium when it is
missing). Every request that would leave the site is recorded and aborted, so the check
also proves that the pages need no network. A screenshot of each page is saved under
``_build/screenshots/``.

The checker, :func:`check_site`, is a plain function: the last tests apply it to a
copy of the site damaged on purpose (a figure deleted, MathJax pointed at a CDN, a
broken link, a failing script) and assert that it reports each damage.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest
from conftest import REPO, STRICT, book_pdf, build_book

pytestmark = pytest.mark.book

# as book_pdf.py reads the site to print it: the table of contents in reading order, a
# thread serving a folder, and a chromium page that reaches that folder and nothing else
toc_pages = book_pdf().toc_pages
serve = book_pdf().serve
site_page = book_pdf().site_page
CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS = book_pdf().CHROMIUM, book_pdf().CHROMIUM_ARGS, book_pdf().TIMEOUT_MS

SCREENSHOTS = REPO / "_build" / "screenshots"
SEARCH_TERM = "backpropagation"
CDN_MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
# axe-core, installed by `make axe` (pinned in the Makefile); LABCODE_AXE_JS names another copy
AXE_JS = Path(os.environ.get("LABCODE_AXE_JS")
              or REPO / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js")
# the rules a page must pass: WCAG 2.0 and 2.1, levels A and AA
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# the smallest a figure's text may be shown, in CSS pixels
MIN_FIGURE_TEXT_PX = 9.0

_IMAGES_JS = """async () => {
  const images = Array.from(document.images);
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.allSettled(images.map((img) => img.decode()));
  return images.map((img) => ({src: img.currentSrc || img.src, width: img.naturalWidth}));
}"""

_MATH_JS = """async (timeout) => {
  const math = Array.from(document.querySelectorAll(".bd-article .math"));
  if (math.length === 0) return {count: 0, untypeset: [], errors: 0};
  // a MathJax that loaded defines MathJax.startup.promise as soon as its script runs
  const ready = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
  const start = performance.now();
  while (!ready() && performance.now() - start < timeout) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (ready()) await MathJax.startup.promise;
  return {
    count: math.length,
    untypeset: math.filter((m) => !m.querySelector("mjx-container"))
                   .map((m) => m.textContent.trim().slice(0, 60)),
    errors: document.querySelectorAll(".bd-article mjx-merror").length,
  };
}"""

_LINKS_JS = "() => Array.from(document.querySelectorAll('a[href]'), (a) => a.href)"

# Sphinx's search writes its summary once every result is listed
_SEARCH_DONE_JS = "() => document.querySelector('#search-results .search-summary')?.innerText.trim()"


class _Anchors(HTMLParser):
    """The ids and names an HTML page defines, which a ``#fragment`` may point at."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.anchors.add(value or "")


@dataclass
class PageCheck:
    """What the browser saw on one page."""

    page: str
    images: int = 0
    math: int = 0
    toggles_opened: int = 0
    internal_links: int = 0
    seconds: float = 0.0


@dataclass
class SiteReport:
    """The result of :func:`check_site`: problems found (empty when all is well)."""

    problems: list[str] = field(default_factory=list)
    pages: list[PageCheck] = field(default_factory=list)
    search_results: int | None = None
    screenshots: list[Path] = field(default_factory=list)


def _site_file(html: Path, base: str, url: str) -> tuple[Path, str]:
    """The file of the site a URL of the server points at, and the URL's fragment."""
    parts = urlsplit(url)
    path = unquote(parts.path)[len(urlsplit(base).path):]
    target = html / path
    if path == "" or path.endswith("/"):
        target = target / "index.html"
    return target, unquote(parts.fragment)


def _open_toggles(page, check: PageCheck, problems: list[str]) -> None:
    """Click the first collapsed code cell or dropdown of each kind; it must open."""
    summary = page.query_selector(".bd-article details:not([open]) > summary")
    if summary is not None:
        summary.click()
        opened = summary.evaluate(
            "(s) => s.parentElement.open && Array.from(s.parentElement.children)"
            ".some((c) => c !== s && c.checkVisibility())"
        )
        if opened:
            check.toggles_opened += 1
        else:
            problems.append(f"{check.page}: a collapsed block did not open when clicked")
    button = page.query_selector(".bd-article button.toggle-button[aria-expanded='false']")
    if button is not None:
        button.click()
        opened = button.evaluate(
            "(b) => b.getAttribute('aria-expanded') === 'true' && !document"
            ".getElementById(b.dataset.target).classList.contains('toggle-hidden')"
        )
        if opened:
            check.toggles_opened += 1
        else:
            problems.append(f"{check.page}: a dropdown did not open when clicked")


SCREENSHOT_MAX_HEIGHT = 10_000  # pixels; a taller page is shown from its top


def _screenshot(page, path: Path) -> None:
    """Save the page, in one piece, through a viewport as tall as the page (at most
    ``SCREENSHOT_MAX_HEIGHT``).

    Playwright's stitched ``full_page`` screenshot repeats the theme's sticky header and
    sidebar down the page, and takes many seconds on the longest pages.
    """
    viewport = page.viewport_size
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size(
        {"width": viewport["width"], "height": min(max(height, 1), SCREENSHOT_MAX_HEIGHT)}
    )
    try:
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(viewport)


def _wait_for_requests(page, pending: dict, name: str, problems: list[str]) -> None:
    """Wait until every request the page started has an answer (or failed)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while pending and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    if pending:
        problems.append(f"{name}: requests without an answer: {sorted(pending.values())[:3]}")


def check_site(
    html: Path,
    pages: list[str],
    *,
    screenshots: Path | None = None,
    search_term: str | None = SEARCH_TERM,
) -> SiteReport:
    """Read the pages of a built site in headless chromium and report what is broken.

    Parameters
    ----------
    html : Path
        The built site (``_build/html``).
    pages : list of str
        Page names such as ``"book/data"``; each is ``html / (page + ".html")``.
    screenshots : Path, optional
        Folder to save one PNG per page in (the top ``SCREENSHOT_MAX_HEIGHT`` pixels
        of a longer page).
    search_term : str or None, default "backpropagation"
        Look this up on the site's search page, which must list at least one result;
        None skips the search.

    Returns
    -------
    SiteReport
        ``problems`` lists, one line each: failed requests (status 400 and over, or no
        answer), requests outside the site (aborted), script errors, images not loaded, equations not typeset or typeset with
        errors, toggles that do not open, internal links to a missing file or anchor,
        and a search without results.
    """
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(
            f"the browser test needs Debian's chromium at {CHROMIUM}: run `make test` as "
            "root, or `apt-get install chromium`"
        )
    report = SiteReport()
    problems = report.problems
    anchors: dict[Path, set[str]] = {}
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
    with serve(html) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            current = {"page": "(none)"}
            outside: set[str] = set()

            def route(r) -> None:
                url = r.request.url
                if url.startswith(base) or url.startswith(("data:", "blob:")):
                    r.continue_()
                else:
                    outside.add(url)
                    problems.append(f"{current['page']}: request outside the site: {url}")
                    r.abort("blockedbyclient")

            pending: dict = {}  # requests of the page without an answer yet

            def on_request(request) -> None:
                pending[request] = request.url

            def on_finished(request) -> None:
                pending.pop(request, None)

            def on_failed(request) -> None:
                pending.pop(request, None)
                if request.url not in outside:
                    problems.append(
                        f"{current['page']}: request failed ({request.failure}): {request.url}"
                    )

            def on_response(response) -> None:
                if response.status >= 400:
                    problems.append(
                        f"{current['page']}: HTTP {response.status}: {response.url}"
                    )

            def on_error(error) -> None:
                problems.append(f"{current['page']}: script error: {error}")

            context.route("**/*", route)
            page = context.new_page()
            page.on("request", on_request)
            page.on("requestfinished", on_finished)
            page.on("requestfailed", on_failed)
            page.on("response", on_response)
            page.on("pageerror", on_error)

            for name in pages:
                current["page"] = name
                check = PageCheck(name)
                report.pages.append(check)
                if not (html / f"{name}.html").is_file():
                    problems.append(f"{name}: no file {name}.html in the site")
                    continue
                start = time.perf_counter()
                page.goto(f"{base}{name}.html", wait_until="load")

                for img in page.evaluate(_IMAGES_JS):
                    check.images += 1
                    if img["width"] == 0:
                        problems.append(f"{name}: image not loaded: {img['src']}")

                math = page.evaluate(_MATH_JS, 2000)
                check.math = math["count"]
                if math["untypeset"]:
                    problems.append(
                        f"{name}: {len(math['untypeset'])} of {math['count']} equations not "
                        f"typeset, the first: {math['untypeset'][0]!r}"
                    )
                if math["errors"]:
                    problems.append(f"{name}: {math['errors']} MathJax errors")

                _open_toggles(page, check, problems)

                for url in page.evaluate(_LINKS_JS):
                    if not url.startswith(base):
                        continue
                    check.internal_links += 1
                    target, fragment = _site_file(html, base, url)
                    if not target.is_file():
                        problems.append(f"{name}: link to a missing file: {url}")
                        continue
                    if fragment and target.suffix == ".html":
                        if target not in anchors:
                            parser = _Anchors()
                            parser.feed(target.read_text(encoding="utf8"))
                            anchors[target] = parser.anchors
                        if fragment not in anchors[target]:
                            problems.append(f"{name}: link to a missing anchor: {url}")

                # every request the page started (fonts, MathJax's parts) is answered
                # before the next page, so none is cut off and none goes unchecked
                _wait_for_requests(page, pending, name, problems)
                if screenshots is not None:
                    shot = screenshots / f"{name.replace('/', '__')}.png"
                    _screenshot(page, shot)
                    report.screenshots.append(shot)
                check.seconds = time.perf_counter() - start

            if search_term is not None:
                current["page"] = "search"
                page.goto(f"{base}search.html?q={quote(search_term)}", wait_until="load")
                page.wait_for_function(_SEARCH_DONE_JS)
                report.search_results = page.locator("#search-results ul.search li").count()
                if report.search_results == 0:
                    problems.append(f"search: no results for {search_term!r}")
                _wait_for_requests(page, pending, "search", problems)
                if screenshots is not None:
                    shot = screenshots / "search.png"
                    page.screenshot(path=str(shot))
                    report.screenshots.append(shot)
        finally:
            browser.close()
    return report


# --- layout: nothing cut, nothing scrolling that should not, every figure captioned ------

PHONE_WIDTH = 390
DESKTOP_WIDTH = 1280

# every collapsed block open, so that its equations, tables and figures are measured
_OPEN_JS = """() => {
  document.querySelectorAll(".bd-article details").forEach((d) => { d.open = true; });
  document.querySelectorAll(".bd-article .toggle-hidden").forEach((e) => e.classList.remove("toggle-hidden"));
}"""

_LAYOUT_JS = """(phone) => {
  // the article; the search page has none, its results stand in the page's main part
  const article = document.querySelector(".bd-article") || document.querySelector("main");
  if (!article) return ["no .bd-article on the page"];
  const edge = article.getBoundingClientRect().right;
  const text = (el) => (el.innerText || el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 70);
  const scrollBox = (el) => {
    for (let a = el; a && a !== article; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden") return a;
    }
    return null;
  };
  const problems = [];
  const wide = [...article.querySelectorAll("mjx-container[display='true'], table")];
  for (const el of wide) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const kind = el.tagName === "TABLE" ? "table" : "equation";
    const box = scrollBox(el);
    const scrolls = box !== null && box.scrollWidth > box.clientWidth + 1;
    if (!phone && scrolls) {
      problems.push(`${kind} needs horizontal scrolling (${box.scrollWidth} px in ${box.clientWidth} px): ${text(el)}`);
    } else if (!scrolls && r.right > edge + 1) {
      problems.push(`${kind} wider than the page, ${Math.round(r.right - edge)} px cut or sticking out: ${text(el)}`);
    } else if (box !== null && getComputedStyle(box).overflowX === "hidden" && box.scrollWidth > box.clientWidth + 1) {
      problems.push(`${kind} cut by a box that does not scroll: ${text(el)}`);
    } else if (scrolls && box.scrollLeft === 0 && !box.classList.contains("labcode-more-right")) {
      problems.push(`${kind} scrolls sideways with no cue that it does: ${text(el)}`);
    }
  }
  if (phone && document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push(`the page scrolls sideways (${document.documentElement.scrollWidth} px in ${window.innerWidth} px)`);
  }
  for (const img of article.querySelectorAll("img")) {
    const figure = img.closest("figure");
    const caption = figure && figure.querySelector("figcaption");
    if (!caption || !caption.innerText.trim()) {
      problems.push(`figure without a caption: ${img.getAttribute("src")}`);
    }
  }
  return problems;
}"""


def axe_script() -> str:
    """axe-core's browser script, which ``make axe`` (a part of ``make test``) installs."""
    if not AXE_JS.is_file():
        raise RuntimeError(
            f"the accessibility test needs axe-core at {AXE_JS}: run `make test`, or "
            "`make axe` (npm install of the pinned axe-core)"
        )
    return AXE_JS.read_text(encoding="utf8")


_AXE_RUN_JS = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, count: v.nodes.length,
    first: v.nodes[0].target.join(" "),
  }));
}"""

_READER_JS = """() => {
  const seen = new Map();
  for (const el of document.querySelectorAll("[id]")) seen.set(el.id, (seen.get(el.id) || 0) + 1);
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  const images = [...document.querySelectorAll(".bd-article img")].map((img) => ({
    src: img.getAttribute("src"), alt: img.getAttribute("alt"),
    shown: img.getBoundingClientRect().width,
  }));
  return {duplicates, images};
}"""


def figure_text_px(png: Path, shown_width: float) -> float | None:
    """The CSS pixel size of the smallest text of a figure shown ``shown_width`` pixels
    wide, from the size in points its PNG records (``labcode.notebook.TEXT_SIZE_KEY``),
    the PNG's resolution and its width in pixels; None for a figure without text.

    Raises ValueError for a PNG that records no text size (drawn some other way)."""
    from PIL import Image

    from labcode.notebook import TEXT_SIZE_KEY

    with Image.open(png) as image:
        recorded = image.text.get(TEXT_SIZE_KEY) if hasattr(image, "text") else None
        dpi = image.info.get("dpi", (72, 72))[0]
        natural = image.width
    if recorded is None:
        raise ValueError(f"{png.name} records no text size: draw it with matplotlib in a "
                         "chapter that imports labcode.notebook")
    if recorded == "none":
        return None
    return float(recorded) * float(dpi) / 72 * shown_width / natural


def check_width(html: Path, pages: list[str], width: int) -> list[str]:
    """Read each page at a window ``width`` pixels wide, as a reader of that screen
    does, and report what fails them, one line each.

    - **Layout** (:data:`_LAYOUT_JS`, every collapsed block opened first): an equation or
      table wider than the article with no scroll box of its own, or scrolling with no
      cue that it does; at the desktop width, any that scrolls at all; on a phone (below
      600 px), a page that scrolls sideways; an image outside a captioned figure.
    - **Figures**: an image whose alt text is empty or a file path, and a figure whose
      smallest text is shown below ``MIN_FIGURE_TEXT_PX`` (:func:`figure_text_px`).
    - **Screen readers**: axe-core's serious and critical violations of the WCAG 2.1 A
      and AA rules (``AXE_TAGS``), and ids used twice.
    - **Errors**: every script error and console error.
    - **Navigation**: the visible "contents" and "On this page" buttons; on a phone
      (below 992 px, where the sidebars are drawers) each must open its drawer, holding
      links; on a wide screen the contents button must hide the chapter list.
    """
    axe = axe_script()
    problems: list[str] = []
    with site_page(html, width) as (page, base, errors):
        for name in pages:
            where = f"{name} at {width} px"
            errors.clear()
            page.goto(f"{base}{name}.html", wait_until="load")
            page.evaluate(_MATH_JS, 2000)
            page.evaluate(_OPEN_JS)
            page.wait_for_timeout(300)  # _static/labcode-fit.js sizes the equations again
            problems += [f"{where}: {p}" for p in page.evaluate(_LAYOUT_JS, width < 600)]

            seen = page.evaluate(_READER_JS)
            problems += [f"{where}: the id {i!r} is used more than once" for i in seen["duplicates"]]
            for img in seen["images"]:
                alt = (img["alt"] or "").strip()
                if not alt or "/" in alt or re.search(r"\.(png|jpe?g|svg|gif)$", alt):
                    problems.append(f"{where}: an image without a real alt text: {img['src']} "
                                    f"(alt {img['alt']!r})")
                if not img["shown"] or not img["src"].endswith(".png"):
                    continue
                png, _ = _site_file(html, base, urljoin(f"{base}{name}.html", img["src"]))
                try:
                    px = figure_text_px(png, img["shown"])
                except ValueError as error:
                    problems.append(f"{where}: {error}")
                    continue
                if px is not None and px < MIN_FIGURE_TEXT_PX:
                    problems.append(f"{where}: figure text {px:.1f} px, below "
                                    f"{MIN_FIGURE_TEXT_PX:g} px: {img['src']}")

            page.add_script_tag(content=axe)
            for v in page.evaluate(_AXE_RUN_JS, AXE_TAGS):
                if v["impact"] in ("serious", "critical"):
                    problems.append(f"{where}: axe {v['impact']} {v['id']} on {v['count']} "
                                    f"elements, the first: {v['first']}")

            problems += [f"{where}: {p}" for p in _press_navigation(page, width)]
            problems += [f"{where}: {e}" for e in errors]
    return problems


_NAV_STATE_JS = """() => {
  const open = (id) => !!document.getElementById(id)?.open;
  const links = (id) => document.getElementById(id)?.querySelectorAll("a[href]").length || 0;
  const primary = document.getElementById("pst-primary-sidebar");
  return {primaryModal: open("pst-primary-sidebar-modal"),
          primaryLinks: links("pst-primary-sidebar-modal"),
          secondaryModal: open("pst-secondary-sidebar-modal"),
          secondaryLinks: links("pst-secondary-sidebar-modal"),
          primaryHidden: !!primary && (primary.classList.contains("pst-sidebar-hidden")
                                       || primary.offsetWidth === 0)};
}"""


def _press_navigation(page, width: int) -> list[str]:
    """Press the page's visible navigation buttons; report each that does nothing."""
    problems = []
    kinds = [("primary", "contents")] + ([("secondary", "On this page")] if width < 992 else [])
    if not page.locator("#pst-page-toc-nav a").count():
        kinds = kinds[:1]  # a page without sections has no "On this page"
    for kind, label in kinds:
        buttons = page.locator(f".{kind}-toggle >> visible=true")
        if buttons.count() == 0:
            problems.append(f"no visible {label} button")
            continue
        buttons.first.click()
        page.wait_for_timeout(300)
        state = page.evaluate(_NAV_STATE_JS)
        if width >= 992:
            if not state["primaryHidden"]:
                problems.append(f"the {label} button does not hide the sidebar")
            buttons.first.click()  # and back
        elif not state[f"{kind}Modal"] or not state[f"{kind}Links"]:
            problems.append(f"the {label} button opens no drawer of links")
        else:
            page.keyboard.press("Escape")
            page.wait_for_timeout(100)
    return problems


_PRINT_JS = """() => {
  window.dispatchEvent(new Event("beforeprint"));
  const article = document.querySelector(".bd-article");
  const problems = [];
  const closed = article.querySelectorAll("details:not([open])").length;
  if (closed) problems.push(`${closed} dropdowns stay closed on paper`);
  for (const pre of article.querySelectorAll("pre")) {
    if (pre.offsetWidth && pre.scrollWidth > pre.clientWidth + 1) {
      problems.push(`a code line runs past the page's edge: ${pre.textContent.trim().slice(0, 60)}`);
      break;
    }
  }
  for (const fig of article.querySelectorAll("figure")) {
    if (getComputedStyle(fig).breakInside !== "avoid") {
      problems.push("a figure may be split from its caption across pages");
      break;
    }
  }
  return problems;
}"""


def check_print(html: Path, pages: list[str]) -> list[str]:
    """Read each page as the browser prints it (print media, ``beforeprint``, an A4 width)
    and report what paper would lose: a closed dropdown, a code line cut at the edge, a
    figure that may be split from its caption."""
    problems = []
    with site_page(html, 700, media="print") as (page, base, _):
        for name in pages:
            page.goto(f"{base}{name}.html", wait_until="load")
            problems += [f"{name}: {p}" for p in page.evaluate(_PRINT_JS)]
    return problems


# --- the real site ----------------------------------------------------------------------


def test_on_paper_every_answer_shows_and_no_code_line_is_cut(built_book):
    assert built_book.returncode == 0, built_book.output[-5000:]
    problems = check_print(built_book.html, [p for p in toc_pages() if p.startswith("book/")])
    assert problems == [], "\n".join(problems)


def test_print_checker_reports_closed_answers_and_cut_lines(built_book, tmp_path):
    html = _damaged_copy(built_book, tmp_path)
    (html / "_static" / "labcode-print.js").write_text("// removed\n")
    css = html / "_static" / "labcode.css"
    css.write_text(css.read_text(encoding="utf8").split("@media print")[0], encoding="utf8")
    problems = check_print(html, ["book/numpy_network"])
    assert any("dropdowns stay closed" in p for p in problems), problems
    assert any("figure may be split" in p for p in problems), problems


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
def test_every_page_reads_well_at_a_phones_and_a_desktops_width(built_book, width):
    """Layout, figures, axe-core, ids, console and navigation: :func:`check_width`."""
    assert built_book.returncode == 0, built_book.output[-5000:]
    pages = toc_pages() + ["search", "genindex"]
    problems = check_width(built_book.html, pages, width)
    assert problems == [], "\n".join(problems)


def test_width_checker_reports_what_scrolls_without_a_cue(built_book, tmp_path):
    html = _damaged_copy(built_book, tmp_path)
    (html / "_static" / "labcode-fit.js").write_text("// removed\n")
    phone = check_width(html, ["book/numpy_network"], PHONE_WIDTH)
    assert any("table scrolls sideways with no cue" in p for p in phone), phone
    assert any("equation scrolls sideways with no cue" in p for p in phone), phone


def test_width_checker_reports_buttons_that_do_nothing(built_book, tmp_path):
    html = _damaged_copy(built_book, tmp_path)
    (html / "_static" / "labcode-nav.js").write_text("// removed\n")
    for width in (PHONE_WIDTH, DESKTOP_WIDTH):
        problems = check_width(html, ["book/data"], width)
        assert any("button" in p for p in problems), (width, problems)


def test_width_checker_reports_what_a_screen_reader_and_a_phone_reader_trip_on(built_book, tmp_path):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    from labcode.notebook import TEXT_SIZE_KEY

    html = _damaged_copy(built_book, tmp_path)
    page = html / "book" / "data.html"
    source = page.read_text(encoding="utf8")
    images = re.findall(r'<img alt="([^"]*)" src="\.\./(_images/[^"]+\.png)"', source)
    assert len(images) >= 2, images
    (_, small), (alt, path_alt) = images[:2]
    # the first figure says its smallest text is 3 pt; the second's alt text is its path
    with Image.open(html / small) as image:
        info = PngInfo()
        info.add_text(TEXT_SIZE_KEY, "3")
        image.save(html / small, pnginfo=info, dpi=image.info.get("dpi", (100, 100)))
    source = source.replace(f'alt="{alt}"', f'alt="../{path_alt}"', 1)
    damage = ('<p id="damage" style="color:#999;background:#fff">faint text</p>'
              '<span id="damage">again</span>'
              '<script>console.error("deliberate console error")</script></body>')
    page.write_text(source.replace("</body>", damage), encoding="utf8")
    problems = check_width(html, ["book/data"], PHONE_WIDTH)
    assert any("figure text" in p and small in p for p in problems), problems
    assert any("without a real alt text" in p and path_alt in p for p in problems), problems
    assert any("axe serious color-contrast" in p for p in problems), problems
    assert any("'damage' is used more than once" in p for p in problems), problems
    assert any("console error: deliberate console error" in p for p in problems), problems


@pytest.fixture(scope="module")
def site_report(built_book) -> SiteReport:
    assert built_book.returncode == 0, built_book.output[-5000:]
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    return check_site(built_book.html, toc_pages(), screenshots=SCREENSHOTS)


def test_toc_pages_lists_every_file_in_order(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/a\n"
        "    sections:\n      - file: book/a1.md\n  - file: book/b\n"
    )
    assert toc_pages(toc) == ["book/intro", "book/a", "book/a1", "book/b"]
    toc.write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: One\n    chapters:\n"
        "      - file: book/a\n  - caption: Two\n    chapters:\n      - file: book/b\n"
    )
    assert toc_pages(toc) == ["book/intro", "book/a", "book/b"]


def test_every_page_renders_offline(site_report):
    assert site_report.problems == [], "\n".join(site_report.problems)
    pages = toc_pages()
    assert [check.page for check in site_report.pages] == pages
    # the links of every page were checked (each has at least the navigation's)
    assert all(check.internal_links > 0 for check in site_report.pages)
    assert all(shot.is_file() and shot.stat().st_size > 0 for shot in site_report.screenshots)
    assert len(site_report.screenshots) == len(pages) + 1


def test_figures_load_and_equations_are_typeset(site_report):
    data = next(check for check in site_report.pages if check.page == "book/data")
    assert data.images >= 2  # the digit grid and the class balance
    assert data.math >= 2  # $[0, 1]$ and $Z = XW$ at least


def test_a_collapsed_block_opens(site_report):
    # book/data.md shows the cell that computes the class shares collapsed
    data = next(check for check in site_report.pages if check.page == "book/data")
    assert data.toggles_opened >= 1


def test_search_finds_backpropagation(site_report):
    # book/intro.md names it in the list of steps
    assert site_report.search_results is not None and site_report.search_results > 0


def search_results(html: Path, queries: list[str]) -> dict[str, list[str]]:
    """The links of the site's search results for each query, best first."""
    results = {}
    with site_page(html, DESKTOP_WIDTH) as (page, base, _):
        for query in queries:
            page.goto(f"{base}search.html?q={quote(query)}", wait_until="load")
            page.wait_for_function(_SEARCH_DONE_JS)
            results[query] = page.eval_on_selector_all(
                "#search-results ul.search li > a", "links => links.map((a) => a.getAttribute('href'))")
    return results


def test_search_lists_a_steps_sections_and_a_names_api_entry_first(built_book):
    assert built_book.returncode == 0, built_book.output[-5000:]
    html = built_book.html
    step_sections: dict[int, set[str]] = {}
    for name in toc_pages():
        text = (html / f"{name}.html").read_text(encoding="utf8")
        for section, number in re.findall(r'<section id="([^"]+)">\s*(?:<span id="[^"]*"></span>\s*)*<h\d>Step (\d+)\b', text):
            step_sections.setdefault(int(number), set()).add(f"{Path(name).name}.html#{section}")
    assert sorted(step_sections) == list(range(1, 11))
    names = ["train_epoch", "SimpleMLP", "fc_backward", "one_hot", "run_experiment"]
    found = search_results(html, [f"Step {n}" for n in step_sections] + names + ["zero_grad"])
    for number, sections in step_sections.items():
        first = [link.split("/")[-1] for link in found[f"Step {number}"][:len(sections)]]
        assert set(first) == sections, (number, found[f"Step {number}"][:5])
    for name in names:
        first = found[name][0]
        assert "api.html#" in first and first.endswith(f".{name}"), (name, found[name][:3])
    # the page that teaches the training loop, not one that mentions it
    assert found["zero_grad"][0].split("#")[0].endswith("pytorch_mlp.html"), found["zero_grad"][:3]


# --- the checker on a damaged copy of the site -------------------------------------------


def _damaged_copy(built_book, tmp_path) -> Path:
    assert built_book.returncode == 0, built_book.output[-5000:]
    copy = tmp_path / "html"
    shutil.copytree(built_book.html, copy)
    return copy


def test_checker_reports_a_deleted_figure(built_book, tmp_path):
    html = _damaged_copy(built_book, tmp_path)
    source = (html / "book" / "data.html").read_text(encoding="utf8")
    figure = re.search(r'<img[^>]*src="\.\./(_images/[^"]+\.png)"', source).group(1)
    (html / figure).unlink()
    report = check_site(html, ["book/data"], search_term=None)
    assert any("HTTP 404" in p and figure in p for p in report.problems), report.problems
    assert any("image not loaded" in p and figure in p for p in report.problems)


def test_checker_reports_mathjax_from_a_cdn(built_book, tmp_path):
    html = _damaged_copy(built_book, tmp_path)
    page = html / "book" / "data.html"
    source = page.read_text(encoding="utf8")
    local = 'src="../_static/mathjax/tex-mml-chtml.js"'
    assert source.count(local) == 1
    page.write_text(source.replace(local, f'src="{CDN_MATHJAX}"'), encoding="utf8")
    report = check_site(html, ["book/data"], search_term=None)
    assert f"book/data: request outside the site: {CDN_MATHJAX}" in report.problems
    assert any("equations not typeset" in p for p in report.problems), report.problems


def test_checker_reports_broken_links_and_script_errors(built_book, tmp_path):
    html = _damaged_copy(built_book, tmp_path)
    page = html / "book" / "intro.html"
    source = page.read_text(encoding="utf8")
    damage = (
        '<a href="data.html#no-such-anchor">a</a><a href="no-such-page.html">b</a>'
        '<script>throw new Error("deliberate failure")</script></body>'
    )
    page.write_text(source.replace("</body>", damage), encoding="utf8")
    report = check_site(html, ["book/intro"], search_term="no-such-word-anywhere")
    assert any("missing anchor" in p and "data.html#no-such-anchor" in p for p in report.problems)
    assert any("missing file" in p and "no-such-page.html" in p for p in report.problems)
    assert any("script error" in p and "deliberate failure" in p for p in report.problems)
    assert "search: no results for 'no-such-word-anywhere'" in report.problems


# --- layout -----------------------------------------------------------------------------


def test_width_checker_reports_a_wide_table_a_wide_equation_and_a_bare_image(built_book, tmp_path):
    html = _damaged_copy(built_book, tmp_path)
    page = html / "book" / "data.html"
    source = page.read_text(encoding="utf8")
    image = re.search(r'<img[^>]*src="(\.\./_images/[^"]+\.png)"', source).group(1)
    cells = "".join(f"<td>column{i:02d}-wide-content</td>" for i in range(40))
    damage = (
        '<div class="bd-article-damage"><table id="damage-table"><tr>' + cells + "</tr></table>"
        f'<p><img src="{image}" alt="bare"></p>'
        "<div class=\"math notranslate nohighlight\">\\[" + " + ".join(f"x_{{{i}}}" for i in range(120))
        + "\\]</div></div>"
    )
    assert source.count("</article>") == 1
    page.write_text(source.replace("</article>", damage + "</article>"), encoding="utf8")
    desktop = check_width(html, ["book/data"], DESKTOP_WIDTH)
    assert any("table" in p and "column00" in p for p in desktop), desktop
    assert any("equation" in p for p in desktop), desktop
    assert any("figure without a caption" in p and image in p for p in desktop), desktop
    phone = check_width(html, ["book/data"], PHONE_WIDTH)
    assert any("table" in p and "column00" in p for p in phone), phone


# --- the term-time edition, in the browser ------------------------------------------------

_TEXT_JS = "() => document.querySelector('.bd-article')?.textContent || ''"


def solution_lines(book: Path = REPO / "book") -> dict[str, list[str]]:
    """Per page, distinctive code lines of every reference solution its ``{solution}`` blocks show.

    Each solution block includes labcode's function with ``literalinclude`` and
    ``:pyobject:``; the lines returned are that function's longer code lines (docstrings,
    comments and signatures left out) that appear nowhere else in the chapter's source
    or in the code it includes outside its solutions, so that they are on the page only
    when the solution is.
    """
    found: dict[str, list[str]] = {}
    include = r"\{literalinclude\} (\S+)\n:pyobject: (\S+)"
    for chapter in sorted(book.glob("*.md")):
        text = chapter.read_text(encoding="utf8")
        solution = re.compile(r"^:{3,}\{solution\}(.*?)^:{3,}\s*$", flags=re.S | re.M)
        outside = solution.sub("", text)
        elsewhere = outside + "".join(
            "\n".join(_object_lines(chapter.parent / path, name))
            for path, name in re.findall(include, outside))
        for body in solution.findall(text):
            for path, name in re.findall(include, body):
                code = [ln for ln in _object_lines(chapter.parent / path, name)
                        if len(ln) > 25 and ln not in elsewhere]
                found.setdefault(f"book/{chapter.stem}", []).extend(code[:3])
    return found


def _object_lines(path: Path, name: str) -> list[str]:
    """The stripped code lines the pages show of the function or class ``name`` in
    ``path`` (``notebook_markdown.teaching_source``: no decorators, no docstrings), without
    the first line of its signature, blank lines and comments."""
    import importlib.util

    module = sys.modules.get("notebook_markdown")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            "notebook_markdown", REPO / "book" / "_ext" / "notebook_markdown.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["notebook_markdown"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    shown = module.teaching_source(path.resolve(), name).splitlines()[1:]
    return [ln.strip() for ln in shown if ln.strip() and not ln.strip().startswith("#")]


def page_texts(html: Path, pages: list[str]) -> dict[str, str]:
    """The text of each page's article, as chromium has it (closed dropdowns included)."""
    texts = {}
    with site_page(html, DESKTOP_WIDTH) as (page, base, _):
        for name in pages:
            page.goto(f"{base}{name}.html", wait_until="load")
            texts[name] = page.evaluate(_TEXT_JS)
    return texts


@pytest.fixture(scope="module")
def term_book(built_book, tmp_path_factory, run_cache):
    """The term-time edition (``LABCODE_SOLUTIONS=hidden``) of the whole book.

    It reuses the session build's execution cache: the two editions run the same code,
    so the term-time build re-executes nothing.
    """
    assert built_book.returncode == 0, built_book.output[-5000:]
    out = tmp_path_factory.mktemp("term")
    shutil.copytree(built_book.html.parent / ".jupyter_cache", out / "_build" / ".jupyter_cache")
    return build_book(REPO, *STRICT, out=out,
                      env={"LABCODE_SOLUTIONS": "hidden", "LABCODE_RUN_CACHE": str(run_cache)})


def test_the_term_time_site_has_no_reference_solution_and_the_normal_site_has_all(
        built_book, term_book):
    assert term_book.returncode == 0, term_book.output[-5000:]
    expected = solution_lines()
    assert len(expected) >= 5 and sum(map(len, expected.values())) >= 20  # the lab's exercises
    pages = toc_pages()
    normal, term = page_texts(built_book.html, pages), page_texts(term_book.html, pages)
    missing = [(p, line) for p, lines in expected.items() for line in lines if line not in normal[p]]
    assert missing == [], f"the normal site lacks these solution lines: {missing[:5]}"
    leaked = [(p, line) for p, lines in expected.items() for line in lines if line in term[p]]
    assert leaked == [], f"the term-time site shows reference solutions: {leaked[:5]}"
    assert not any("Solution to" in text for text in term.values())
    # the exercises themselves are still there
    assert all(normal[p].count("Exercise") - normal[p].count("Solution to Exercise")
               == term[p].count("Exercise") > 0 for p in expected)
