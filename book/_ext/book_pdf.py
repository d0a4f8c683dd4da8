"""The whole book as one PDF, printed by Debian's chromium from the built site.

``make pdf`` runs it after ``make book``::

    python book/_ext/book_pdf.py [--html _build/html] [--out _build/html/book.pdf]

Each page of the table of contents is opened in the browser the tests use (served from
the built folder; nothing is requested from elsewhere), typeset by MathJax, and printed
as the browser prints it for a reader: every "An answer" and solution open
(``_static/labcode-print.js``), long code lines wrapped and each figure kept whole with
its caption (``_static/labcode.css``, ``@media print``). The pages are joined in the order
of the table of contents, each chapter a bookmark. No TeX is needed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Chromium flags: no sandbox (run as root in CI), nothing in the background, and no host
# name resolves except the loopback (site_page also aborts every request leaving the site)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
TIMEOUT_MS = 15_000

_READY_JS = """async () => {
  const ready = window.MathJax?.startup?.promise;
  if (ready) await ready;
  await Promise.allSettled(Array.from(document.images).map((img) => {
    img.loading = "eager";
    return img.decode();
  }));
  return document.querySelector("h1")?.textContent.replace(/#$/, "").trim() || document.title;
}"""


def toc_pages(toc: Path = REPO / "_toc.yml") -> list[str]:
    """Every page of the table of contents, root first, in reading order (no suffix)."""
    import yaml

    data = yaml.safe_load(toc.read_text(encoding="utf8"))
    pages = [data["root"]]

    def walk(entry: dict) -> None:
        if "file" in entry:
            pages.append(entry["file"])
        for key in ("parts", "chapters", "sections"):
            for child in entry.get(key) or []:
                walk(child)

    walk({key: value for key, value in data.items() if key != "root"})
    return [str(Path(p).with_suffix("")) for p in pages]


@contextmanager
def serve(folder: Path):
    """Serve a folder on 127.0.0.1, on a free port, from a thread; yield its base URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format, *args) -> None:  # noqa: A002 (the base's name)
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def site_page(html: Path, width: int, *, height: int = 900, media: str | None = None):
    """A chromium page ``width`` by ``height`` pixels that reaches the site served from
    ``html`` and nothing else; yields ``(page, base, errors)``: the page, the site's base
    URL, and a list that collects every script error and console error of the pages it
    opens. ``media="print"`` shows the pages as they print."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        raise ValueError(f"reading the site needs Debian's chromium at {CHROMIUM} (make chromium)")
    with serve(html) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base)
                          else r.abort())
            page = context.new_page()
            if media is not None:
                page.emulate_media(media=media)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(f"script error: {error}"))
            page.on("console", lambda message: errors.append(f"console error: {message.text}")
                    if message.type == "error" else None)
            yield page, base, errors
        finally:
            browser.close()


def book_pdf(html: Path, out: Path, pages: list[str] | None = None) -> list[tuple[str, int]]:
    """Print ``pages`` (default: the table of contents) of the site in ``html`` into one PDF.

    Returns
    -------
    list of (str, int)
        Each page's title and the number of its first sheet (from 0) in the PDF.
    """
    from pypdf import PdfWriter

    html = Path(html)
    pages = pages or toc_pages()
    missing = [p for p in pages if not (html / f"{p}.html").is_file()]
    if missing:
        raise ValueError(f"{html} has no page {missing[0]}.html: build the site first (make book)")
    writer = PdfWriter()
    starts = []
    with (tempfile.TemporaryDirectory() as tmp,
          site_page(html, 900, height=1200, media="print") as (page, base, _)):
        for i, name in enumerate(pages):
            page.goto(f"{base}{name}.html", wait_until="load")
            title = page.evaluate(_READY_JS)
            page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
            sheet = Path(tmp) / f"{i:02d}.pdf"
            page.pdf(path=str(sheet), format="A4", print_background=True,
                     margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
            starts.append((title, len(writer.pages)))
            writer.append(str(sheet), outline_item=title)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as fh:
            writer.write(fh)
    return starts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=REPO / "_build" / "html")
    parser.add_argument("--out", type=Path, default=REPO / "_build" / "html" / "book.pdf")
    args = parser.parse_args(argv)
    try:
        starts = book_pdf(args.html, args.out)
    except ValueError as exc:
        parser.error(str(exc))
    from pypdf import PdfReader

    print(f"wrote {args.out}: {len(PdfReader(args.out).pages)} pages, "
          f"{len(starts)} chapters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
