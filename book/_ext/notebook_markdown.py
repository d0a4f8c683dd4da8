"""A chapter's MyST Markdown rendered as the Markdown that Jupyter, JupyterLab and Colab show.

The notebooks made from the chapters (the student edition, the launch notebooks) keep
one cell per cell of the chapter, so that the starters and checks keep their tags and
ids. Their Markdown, though, is MyST: roles, directives, labels and glue placeholders that
only Sphinx resolves. This module writes each Markdown cell again with what the book's
build resolved, read from the file the build leaves beside the site
(:data:`REFS_FILE`, written by ``book/_ext/labcode_book.py``):

* ``{glue:text}`key:fmt``` and ``{glue}`key``` as the value the chapter computed,
  formatted as the page formats it;
* ``{eq}`` as the equation's number, ``{ref}`` and ``{doc}`` as the title, each a link to
  the page on the published site (``html: baseurl:`` in ``_config.yml``); ``{py:func}``
  and its kin as the name in code, linked to the API page; ``{cite}`` as the label the
  page shows, linked to the bibliography, the whole reference as the link's title;
* display math with a label as ``$$ ... \\tag{n} $$``, the number the page shows;
  ``(label)=`` targets and ``%`` comments dropped;
* ``{exercise}`` and ``{admonition}`` (and ``{note}``, ``{tip}``...) as a block quote that
  starts with the title in bold; ``{dropdown}`` and ``{solution}`` as collapsed
  ``<details>`` elements; ``{literalinclude}`` as the code it includes; ``{glue:figure}``
  as its caption (the figure itself is shown under the cell that draws it).

Anything else (an unknown role or directive, a key the build did not glue, a label it
does not know) raises :class:`RenderError`: a notebook never shows MyST.
"""

from __future__ import annotations

import dataclasses as dc
import json
import re
from pathlib import Path
from types import SimpleNamespace

REFS_FILE = "notebook_refs.json"
"""The file, beside the site's folder (``_build/notebook_refs.json``), that holds what the
build resolved: written by ``labcode_book.py`` when a build finishes."""

ADMONITIONS = ("note", "tip", "hint", "important", "warning", "caution", "attention",
               "danger", "error", "seealso")
PY_ROLES = ("func", "meth", "class", "mod", "data", "attr", "obj", "exc", "const")
_ROLE_OR_CODE = re.compile(
    r"\{(?P<name>[A-Za-z][\w:.-]*)\}`(?P<content>[^`]+)`"  # a role
    r"|(?P<code>`+)[^`]+?(?P=code)")  # a code span, left as written
_EXPLICIT = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
_OPTION = re.compile(r"^:(?P<key>\w[\w-]*):(?:\s+(?P<value>.*?))?\s*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[A-Za-z][\w:.-]*)\}\s*(?P<args>.*)$", re.DOTALL)


class RenderError(ValueError):
    """A piece of MyST that the notebook cannot show (the message says which and why)."""


@dc.dataclass
class Refs:
    """What a build of the book resolved, for the notebooks' Markdown.

    Attributes
    ----------
    base_url : str
        The published site's address (``html: baseurl:``), ending in ``/``.
    titles : dict
        docname -> the page's title.
    labels : dict
        label -> ``[docname, anchor, title]`` (sections and other targets).
    equations : dict
        label -> ``[docname, number]``.
    citations : dict
        key -> ``[docname, anchor, label, text]``: the label the page shows and the whole
        reference.
    py : dict
        full name -> ``[docname, anchor]`` (the API page's objects).
    glue : dict
        docname -> {key -> the ``text/plain`` value the chapter glued}.
    """

    base_url: str
    titles: dict = dc.field(default_factory=dict)
    labels: dict = dc.field(default_factory=dict)
    equations: dict = dc.field(default_factory=dict)
    citations: dict = dc.field(default_factory=dict)
    py: dict = dc.field(default_factory=dict)
    glue: dict = dc.field(default_factory=dict)
    glue_mask: str | None = None  # set by masked(): every glued value written as this

    @classmethod
    def load(cls, build_dir: str | Path) -> "Refs":
        """The refs of the build in ``build_dir`` (``_build``); RenderError if it has none."""
        path = Path(build_dir) / REFS_FILE
        if not path.is_file():
            raise RenderError(
                f"{path} does not exist: the notebooks' text is written from a build of the "
                "book; run `make book` first")
        data = json.loads(path.read_text(encoding="utf8"))
        return cls(**{field.name: data.get(field.name, {}) for field in dc.fields(cls)
                      if field.name != "glue_mask"})

    def dump(self, path: str | Path) -> None:
        data = {key: value for key, value in dc.asdict(self).items() if key != "glue_mask"}
        Path(path).write_text(json.dumps(data, indent=1, sort_keys=True,
                                         ensure_ascii=False) + "\n", encoding="utf8")

    def url(self, docname: str, anchor: str | None = None) -> str:
        """The address of a page (and a place on it) on the published site."""
        base = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return f"{base}{docname}.html" + (f"#{anchor}" if anchor else "")

    def masked(self, mask: str) -> "Refs":
        """A copy that writes every glued value as ``mask``: the text of the notebooks up to
        the numbers, which another machine's kernels may round differently."""
        return dc.replace(self, glue_mask=mask)


def format_glued(text_plain: str, fmt: str) -> str:
    """A glued ``text/plain`` value formatted as ``{glue:text}`key:fmt``` formats it."""
    from myst_nb.core.variables import format_plain_text

    return format_plain_text(text_plain, fmt)


def _link(text: str, url: str, title: str | None = None) -> str:
    if title:
        title = " ".join(title.split()).replace('"', "'")
        return f'[{text}]({url} "{title}")'
    return f"[{text}]({url})"


def _explicit(content: str) -> tuple[str | None, str]:
    match = _EXPLICIT.match(content.strip())
    if match and match["title"]:
        return match["title"], match["target"].strip()
    return None, content.strip()


def _resolve_doc(target: str, docname: str) -> str:
    """A ``{doc}`` target (relative to the current page, or absolute from the root)."""
    target = target.removesuffix(".md")
    if target.startswith("/"):
        return target.lstrip("/")
    parts = docname.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


class Renderer:
    """Renders the Markdown cells of one chapter (``docname``, e.g. ``book/data``)."""

    def __init__(self, refs: Refs, docname: str, source_dir: str | Path):
        self.refs = refs
        self.docname = docname
        self.source_dir = Path(source_dir)
        self._parser = None

    # --- inline roles ----------------------------------------------------------------

    def _glue(self, content: str, fmt_default: str, with_format: bool) -> str:
        key, fmt = content, fmt_default
        if with_format and ":" in content:
            key, fmt = content.rsplit(":", 1)
        doc = self.docname
        if "::" in key:
            doc, key = key.split("::", 1)
            doc = _resolve_doc(doc, self.docname)
        values = self.refs.glue.get(doc, {})
        if key not in values:
            raise RenderError(f"the build glued no value '{key}' in {doc}")
        if self.refs.glue_mask is not None:
            return self.refs.glue_mask
        try:
            return format_glued(values[key], fmt)
        except (TypeError, ValueError) as error:
            raise RenderError(f"the value glued as '{key}' ({values[key]!r}) cannot be "
                              f"formatted with '{fmt}': {error}") from None

    def _eq(self, content: str) -> str:
        title, label = _explicit(content)
        if label not in self.refs.equations:
            raise RenderError(f"no equation labelled '{label}' in the build")
        doc, number = self.refs.equations[label]
        return _link(title or f"({number})", self.refs.url(doc, f"equation-{label}"))

    def _ref(self, content: str) -> str:
        title, label = _explicit(content)
        if label not in self.refs.labels:
            raise RenderError(f"no label '{label}' in the build")
        doc, anchor, section = self.refs.labels[label]
        return _link(title or section, self.refs.url(doc, anchor))

    def _doc(self, content: str) -> str:
        title, target = _explicit(content)
        doc = _resolve_doc(target, self.docname)
        if doc not in self.refs.titles:
            raise RenderError(f"no page '{target}' (resolved as {doc}) in the build")
        return _link(title or self.refs.titles[doc], self.refs.url(doc))

    def _py(self, kind: str, content: str) -> str:
        title, target = _explicit(content)
        short = target.startswith("~")
        target = target.lstrip("~.")
        name = title or (target.rsplit(".", 1)[-1] if short else target)
        if not title and kind in ("func", "meth"):
            name += "()"
        candidates = [target] if target in self.refs.py else [
            full for full in self.refs.py if full.endswith("." + target)]
        if len(candidates) != 1:  # another library's object: the page shows no link either
            return f"`{name}`"
        doc, anchor = self.refs.py[candidates[0]]
        return _link(f"`{name}`", self.refs.url(doc, anchor))

    def _cite(self, content: str) -> str:
        links = []
        for key in (part.strip() for part in content.split(",")):
            if key not in self.refs.citations:
                raise RenderError(f"no reference '{key}' in the bibliography of the build")
            doc, anchor, label, text = self.refs.citations[key]
            links.append(_link(label, self.refs.url(doc, anchor), text))
        return "[" + ", ".join(links) + "]"

    def _role(self, match: re.Match) -> str:
        name, content = match["name"], match["content"]
        if name == "glue:text":
            return self._glue(content, "s", with_format=True)
        if name in ("glue", "glue:any", "glue:md"):
            return self._glue(content, "", with_format=False)
        if name == "eq":
            return self._eq(content)
        if name == "ref":
            return self._ref(content)
        if name == "doc":
            return self._doc(content)
        if name == "cite":
            return self._cite(content)
        if name == "math":
            return f"${content}$"
        if name.startswith("py:") and name[3:] in PY_ROLES:
            return self._py(name[3:], content)
        raise RenderError(f"the role {{{name}}} cannot be shown in a notebook")

    def inline(self, text: str) -> str:
        """``text`` with every role replaced; code spans are left as written."""
        def replace(match: re.Match) -> str:
            return self._role(match) if match["name"] else match.group(0)

        return _ROLE_OR_CODE.sub(replace, text)

    # --- blocks ----------------------------------------------------------------------

    @property
    def parser(self):
        if self._parser is None:
            from markdown_it.renderer import RendererHTML
            from myst_parser.config.main import MdParserConfig
            from myst_parser.parsers.mdit import create_md_parser

            config = MdParserConfig(enable_extensions={
                "amsmath", "dollarmath", "colon_fence", "deflist", "substitution"})
            config = dc.replace(config, disable_syntax=[*config.disable_syntax, "inline"])
            self._parser = create_md_parser(config, RendererHTML)
        return self._parser

    def render(self, text: str) -> str:
        """One Markdown cell, MyST resolved (see the module's docstring)."""
        lines = text.splitlines()
        out: list[str] = []
        prose: list[str] = []  # lines kept as they are, roles replaced when flushed

        def flush():
            text = "\n".join(prose).strip("\n")
            if text.strip():
                out.append(self.inline(text))
            prose.clear()

        position = 0
        for token in self.parser.parse(text + "\n"):
            if token.level != 0 or token.map is None or token.nesting == -1:
                continue
            start, end = token.map
            if start < position:
                continue
            kind = token.type
            replacement = None
            if kind in ("fence", "colon_fence") and _DIRECTIVE.match(token.info.strip()):
                replacement = self.directive(token.info.strip(), token.content)
            elif kind == "myst_target":
                replacement = ""
            elif kind == "myst_line_comment":
                replacement = ""
            elif kind == "math_block_label":
                replacement = self.labelled_math(token.content, token.info)
            elif kind == "fence":  # plain code: left as written, roles and all
                replacement = "\n".join(lines[start:end])
            if replacement is None:
                continue
            prose.extend(lines[position:start])
            flush()
            if replacement.strip():
                out.append(replacement.strip("\n"))
            position = end
        prose.extend(lines[position:])
        flush()
        return "\n\n".join(out)  # blocks apart by one blank line; code keeps its own

    def labelled_math(self, content: str, label: str) -> str:
        if label not in self.refs.equations:
            raise RenderError(f"no equation labelled '{label}' in the build")
        _doc, number = self.refs.equations[label]
        return f"$$\n{content.strip()}\n\\tag{{{number}}}\n$$"

    def directive(self, info: str, content: str) -> str:
        match = _DIRECTIVE.match(info)
        name, args = match["name"], match["args"].strip()
        options, body = _split_options(content)
        if name == "literalinclude":
            return self.literalinclude(args, options)
        if name in ("code-block", "code", "sourcecode"):
            return f"```{args}\n{body.rstrip()}\n```"
        if name == "index":  # entries of the site's index and search: nothing to show
            return ""
        if name == "glue:figure":
            caption = self.render(body)
            return "*Figure (drawn under the cell above).* " + caption if caption else ""
        if name in ("dropdown", "solution"):
            title = (args if name == "dropdown" else "") or name.capitalize()
            if name == "dropdown" and not args:
                title = "Details"
            return "\n".join(["<details>", f"<summary>{self.inline(title)}</summary>", "",
                              self.render(body), "", "</details>"])
        if name in ("exercise", "admonition", *ADMONITIONS):
            if name == "exercise":
                title = "Exercise" + (f": {args}" if args else "")
            elif name == "admonition":
                title = args or "Note"
            else:
                title = "See also" if name == "seealso" else name.capitalize()
            quoted = [f"> **{self.inline(title)}**", ">"]
            quoted += [f"> {line}" if line else ">" for line in self.render(body).splitlines()]
            return "\n".join(quoted)
        raise RenderError(f"the directive {{{name}}} cannot be shown in a notebook")

    def literalinclude(self, argument: str, options: dict) -> str:
        from sphinx.directives.code import LiteralIncludeReader

        path = (self.source_dir / argument).resolve()
        if not path.is_file():
            raise RenderError(f"{{literalinclude}} {argument}: no file {path}")
        reader_options = {key: value for key, value in options.items()
                          if key in ("pyobject", "lines", "start-after", "end-before",
                                     "start-at", "end-at", "dedent", "encoding")}
        config = SimpleNamespace(source_encoding="utf-8-sig")
        try:
            if set(reader_options) == {"pyobject"} and path.suffix == ".py":
                code = teaching_source(path, reader_options["pyobject"])
            else:
                code, _lines = LiteralIncludeReader(str(path), reader_options, config).read()
        except ValueError as error:
            raise RenderError(f"{{literalinclude}} {argument}: {error}") from None
        language = options.get("language") or ("python" if path.suffix == ".py" else "")
        return f"```{language}\n{code.rstrip()}\n```"


def teaching_source(path: Path, name: str) -> str:
    """The source of the function, class or method ``name`` in ``path`` as a student reads
    it: without its decorators (the door checks, see ``labcode._validate.checked``) and
    without the docstrings of it and of everything inside it; comments stay.

    A ``{literalinclude}`` with ``:pyobject:`` alone shows this, on the site and in the
    notebooks. A ``ValueError`` when ``path`` has no such object.
    """
    import ast

    source = Path(path).read_text(encoding="utf-8")
    lines = source.splitlines()
    node: ast.AST = ast.parse(source)
    for part in name.split("."):
        found = [n for n in ast.iter_child_nodes(node)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                 and n.name == part]
        if not found:
            raise ValueError(f"{path} has no object {name!r}")
        node = found[0]
    drop: set[int] = set()  # 0-based line numbers left out
    for inner in ast.walk(node):
        if not isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for decorator in inner.decorator_list:
            drop.update(range(decorator.lineno - 1, decorator.end_lineno))
        first = inner.body[0]
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            drop.update(range(first.lineno - 1, first.end_lineno))
            after = first.end_lineno  # a blank line after a docstring goes with it
            if after < len(lines) and not lines[after].strip() and len(inner.body) > 1:
                drop.add(after)
    kept = [lines[i] for i in range(node.lineno - 1, node.end_lineno) if i not in drop]
    indent = len(kept[0]) - len(kept[0].lstrip())
    return "\n".join(line[indent:] for line in kept)


def _split_options(content: str) -> tuple[dict, str]:
    """A directive's ``:key: value`` lines (at its top) and the body after them."""
    lines = content.splitlines()
    options = {}
    while lines and (match := _OPTION.match(lines[0])):
        options[match["key"]] = match["value"] or ""
        lines = lines[1:]
    return options, "\n".join(lines).strip("\n")


MYST_LEFT = re.compile(
    r"\{[A-Za-z][\w:.-]*\}`"  # a role
    r"|^\s*(:{3,}|`{3,})\{"  # a directive fence
    r"|^\s*\([\w-]+\)=\s*$"  # a target
    r"|^\$\$.*\(\s*[\w-]+\s*\)\s*$",  # a labelled display
    re.MULTILINE,
)
"""What a rendered Markdown cell must not hold: any role, directive, target or label."""


def myst_left(text: str) -> list[str]:
    """The pieces of MyST syntax left in a Markdown text (empty when none)."""
    return [match.group(0) for match in MYST_LEFT.finditer(text)]
