# Two commands set everything up: `make book` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jupyter-book
STAMP := $(VENV)/.labcode-installed
LAB_STAMP := $(VENV)/.labcode-lab-installed
WORK ?= work
PORT ?= 8000
CHAPTER ?=

.PHONY: axe pdf bubblewrap book test test-fast serve clean chapter setup chromium student term notebooks lab

setup: $(STAMP)

# (Re)install when the venv is missing or the pins or package metadata changed.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt pip setuptools wheel
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[book,test,dask]'
	$(PY) -m pip check
	@touch $(STAMP)

## make book: build the site into _build/html (re-executes only what changed), and the whole
## book as one PDF beside it, _build/html/book.pdf, which the intro links to
book: $(STAMP) chromium
	$(JB) build . -W -n --keep-going
	$(PY) book/_ext/book_pdf.py --html _build/html --out _build/html/book.pdf
	@echo "The site is at $(CURDIR)/_build/html/index.html (or run: make serve)"

## make term: the term-time site, every solution left out, into _build/term/_build/html (its
## PDF, book.pdf, beside it)
## (both editions run the same code: a first term build starts from make book's execution cache)
term: $(STAMP) chromium
	@if [ -d _build/.jupyter_cache ] && [ ! -d _build/term/_build/.jupyter_cache ]; then \
	  mkdir -p _build/term/_build && cp -r _build/.jupyter_cache _build/term/_build/; fi
	LABCODE_SOLUTIONS=hidden $(JB) build . -W -n --keep-going --path-output _build/term
	$(PY) book/_ext/book_pdf.py --html _build/term/_build/html --out _build/term/_build/html/book.pdf
	@echo "The term-time site is at $(CURDIR)/_build/term/_build/html/index.html"

## make test: the whole test suite, including a clean, strict build of the book and the
## numerical tests under every CPU kernel (tests/kernels.py), on two workers: the tests
## of the book on one (built and executed once), the rest on the other
test: $(STAMP) chromium bubblewrap axe
	$(PY) -m pytest -n 2 --dist loadgroup

## make test-fast: the package's tests alone, no book and no kernel matrix (the inner loop)
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -m "not book and not kernels"

## make chromium: Debian's chromium for tests/test_browser.py, installed when missing
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	  else \
	    echo "The browser test needs Debian's chromium at /usr/bin/chromium. Install it with:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium" >&2; \
	    echo "then run make test again." >&2; \
	    exit 1; \
	  fi; \
	fi

## make axe: axe-core, the accessibility rules tests/test_browser.py runs in chromium, from
## npm into $(VENV)/axe (npm itself from Debian when missing and the user is root)
AXE_VERSION := 4.14.1
AXE_STAMP := $(VENV)/axe/.installed-$(AXE_VERSION)
axe: $(AXE_STAMP)

$(AXE_STAMP):
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm; \
	  else \
	    echo "The accessibility test needs npm to install axe-core. Install it with:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends npm" >&2; \
	    exit 1; \
	  fi; \
	fi
	rm -rf $(VENV)/axe
	npm install --no-save --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION)
	@touch $(AXE_STAMP)

## make bubblewrap: Debian's bwrap, the strongest box of python -m labcode grade, installed
## when missing and the user is root (otherwise the grader falls back to a weaker box)
bubblewrap:
	@if [ ! -x /usr/bin/bwrap ] && [ "$$(id -u)" = 0 ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap; \
	fi

## make chapter CHAPTER=book/data.md: re-execute one chapter, then rebuild
chapter: $(STAMP)
	@test -n "$(CHAPTER)" || { echo "usage: make chapter CHAPTER=book/<name>.md" >&2; exit 2; }
	$(PY) book/_ext/labcode_book.py rerun $(CHAPTER)
	$(JB) build . -W -n --keep-going
	@echo "The site is at $(CURDIR)/_build/html/index.html"

## make student: write the student edition (no solutions) into _build/student: the handout's
## neural_network.ipynb and MLP.ipynb, each chapter as a notebook, and a README.md. Their
## text shows the numbers and references of the book's build, so the book is built first.
student: book
	$(PY) book/_ext/student_edition.py --out _build/student
	@echo "The student notebooks are in $(CURDIR)/_build/student (make student overwrites them: work on a copy)"

## make pdf: the whole book as one PDF, _build/html/book.pdf, printed by Debian's chromium
## (every answer open, code wrapped; no TeX) from the site make book built; make book writes it too
pdf: $(STAMP) chromium
	$(PY) book/_ext/book_pdf.py --html _build/html --out _build/html/book.pdf

## make notebooks: write book/<chapter>.ipynb (what the Colab and Binder buttons open) and
## binder/requirements.txt; commit them. The edition is launch_notebooks: in _config.yml.
## Their text shows the numbers and references of the book's build, so the book is built first.
notebooks: book
	$(PY) book/_ext/launch_notebooks.py

## make lab: JupyterLab (pinned in constraints.txt) in the environment, opened on $(WORK)/,
## a copy of the student edition made once: make lab never overwrites a student's work
lab: $(LAB_STAMP)
	@if [ ! -d "$(WORK)" ]; then \
	  $(MAKE) --no-print-directory book && \
	  $(PY) book/_ext/student_edition.py --out "$(WORK)" >/dev/null && \
	  echo "The student edition is in $(CURDIR)/$(WORK): start with README.md"; \
	fi
	$(VENV)/bin/jupyter lab --notebook-dir="$(WORK)" $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

$(LAB_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[book,test,dask,lab]'
	$(PY) -m pip check
	@touch $(LAB_STAMP)

## make serve: serve the built site on http://127.0.0.1:$(PORT)
serve:
	@test -f _build/html/index.html || { echo "no site yet: run make book first" >&2; exit 1; }
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

## make clean: remove the built site and the execution cache (keeps .venv)
clean:
	rm -rf _build
