"""The notebooks' Markdown (book/_ext/notebook_markdown.py): MyST written as Jupyter shows it.

These tests render small cells against a made-up build; the chapters themselves, against
the session's build, are checked in tests/test_student.py."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from conftest import REPO

_spec = importlib.util.spec_from_file_location(
    "notebook_markdown", REPO / "book" / "_ext" / "notebook_markdown.py")
notebook_markdown = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("notebook_markdown", notebook_markdown)
_spec.loader.exec_module(notebook_markdown)

BASE = "https://example.org/site/"
REFS = notebook_markdown.Refs(
    base_url=BASE,
    titles={"book/data": "The digits data", "book/api": "API"},
    labels={"ex2-step-3": ["book/pytorch_mlp", "ex2-step-3", "Step 3: training"]},
    equations={"eq-fc": ["book/net", 1], "eq-mse": ["book/net", 3]},
    citations={"lecun": ["book/bibliography", "id5", "LBOMuller98",
                         'LeCun et al. "Efficient BackProp". 1998.']},
    py={"labcode.data.add_bias": ["book/api", "labcode.data.add_bias"],
        "labcode.numpy_net": ["book/api", "module-labcode.numpy_net"]},
    glue={"book/net": {"acc": "0.9722222222222222", "n": "1077", "name": "'adam'"},
          "book/other": {"far": "7"}},
)


def render(text: str, refs=REFS) -> str:
    return notebook_markdown.Renderer(refs, "book/net", REPO / "book").render(text)


def test_glued_values_are_written_as_the_page_formats_them():
    text = "Accuracy {glue:text}`acc:.1%` on {glue:text}`n` images with {glue:text}`name`."
    assert render(text) == "Accuracy 97.2% on 1077 images with adam."
    assert render("{glue}`n` and {glue:text}`../book/other::far:.1f`") == "1077 and 7.0"
    assert render("{glue:text}`n:,d`") == "1,077"


def test_references_become_text_with_a_link_to_the_published_page():
    assert render("see {eq}`eq-mse`") == f"see [(3)]({BASE}book/net.html#equation-eq-mse)"
    assert render("{ref}`ex2-step-3`") == (
        f"[Step 3: training]({BASE}book/pytorch_mlp.html#ex2-step-3)")
    assert render("{ref}`the step <ex2-step-3>`") == (
        f"[the step]({BASE}book/pytorch_mlp.html#ex2-step-3)")
    assert render("{doc}`data`") == f"[The digits data]({BASE}book/data.html)"
    assert render("{py:func}`labcode.data.add_bias`") == (
        f"[`labcode.data.add_bias()`]({BASE}book/api.html#labcode.data.add_bias)")
    assert render("{py:func}`~labcode.data.add_bias`").startswith("[`add_bias()`](")
    assert render("{py:mod}`labcode.numpy_net`") == (
        f"[`labcode.numpy_net`]({BASE}book/api.html#module-labcode.numpy_net)")
    # another library's object: its name, as the page shows it, with no link
    assert render("{py:class}`torch.nn.Linear`") == "`torch.nn.Linear`"
    assert render("{cite}`lecun`") == (
        f"[[LBOMuller98]({BASE}book/bibliography.html#id5 "
        "\"LeCun et al. 'Efficient BackProp'. 1998.\")]")


def test_code_spans_and_code_blocks_are_left_as_written():
    assert render("`{eq}` is a role; {eq}`eq-fc`") == (
        f"`{{eq}}` is a role; [(1)]({BASE}book/net.html#equation-eq-fc)")
    block = "```python\nx = '{glue:text}`n`'\n```"
    assert render(block) == block


def test_labelled_display_math_gets_its_number_and_targets_are_dropped():
    text = "(sec-a)=\n## A\n\n$$\nZ = XW\n$$ (eq-fc)\n\nand $x$ inline."
    assert render(text) == "## A\n\n$$\nZ = XW\n\\tag{1}\n$$\n\nand $x$ inline."


def test_exercises_and_admonitions_are_block_quotes_with_their_title():
    text = (":::{exercise} Write `f`\n:label: ex-f\n:nonumber:\n\nUse {eq}`eq-fc`.\n\n"
            "- a list\n:::\n\n:::{admonition} What you will learn\n:class: tip\n- one\n:::\n\n"
            ":::{note}\nA note.\n:::")
    assert render(text) == (
        "> **Exercise: Write `f`**\n>\n"
        f"> Use [(1)]({BASE}book/net.html#equation-eq-fc).\n>\n> - a list\n\n"
        "> **What you will learn**\n>\n> - one\n\n> **Note**\n>\n> A note.")


def test_dropdowns_and_solutions_are_collapsed_details_elements():
    text = ("Why?\n\n:::{dropdown} An answer\n:open:\nBecause *so*.\n\n- a list\n:::\n\nNext."
            "\n\n::::{dropdown}\nouter\n:::{note}\ninner\n:::\n::::\n\n"
            ":::{solution} ex-f\n:class: dropdown\n\nIt is {glue:text}`n`.\n:::")
    assert render(text) == (
        "Why?\n\n<details>\n<summary>An answer</summary>\n\nBecause *so*.\n\n- a list\n\n"
        "</details>\n\nNext.\n\n<details>\n<summary>Details</summary>\n\nouter\n\n"
        "> **Note**\n>\n> inner\n\n</details>\n\n<details>\n<summary>Solution</summary>\n\n"
        "It is 1077.\n\n</details>")


def test_a_literalinclude_becomes_the_code_it_includes():
    out = render("```{literalinclude} ../labcode/data.py\n:pyobject: add_bias\n```")
    assert out.startswith("```python\ndef add_bias(") and out.endswith("\n```")
    import inspect

    import labcode.data
    source = inspect.getsource(labcode.data.add_bias)
    body = source.rstrip().splitlines()[-1]  # the code after the docstring
    assert body.strip() and body in out
    # as a student reads it: no door check (the decorator) and no docstring
    assert source.startswith("@_validate.checked(") and '"""' in source
    assert "@" not in out and '"""' not in out


def test_a_literalinclude_of_a_class_leaves_out_every_docstring_and_decorator(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        'def check(f):\n    return f\n\n\nclass A:\n    """Doc.\n\n    More.\n    """\n\n'
        '    @check\n    def f(self, x):\n        """Doc of f."""\n        # a comment stays\n'
        '        return x  # so does this one\n\n    @property\n    def g(self):\n'
        '        return 1\n')
    out = render(f"```{{literalinclude}} {module}\n:pyobject: A\n```")
    assert out == ("```python\nclass A:\n    def f(self, x):\n        # a comment stays\n"
                   "        return x  # so does this one\n\n    def g(self):\n        return 1\n```")
    with pytest.raises(Exception, match="no object 'B'"):
        render(f"```{{literalinclude}} {module}\n:pyobject: B\n```")


def test_a_glued_figure_becomes_its_caption():
    out = render("```{glue:figure} fig_x\n:name: fig-x\n\nLoss over {glue:text}`n` steps.\n```")
    assert out == "*Figure (drawn under the cell above).* Loss over 1077 steps."


def test_an_index_entry_is_left_out():
    assert render("Before.\n\n```{index} ! zero_grad, backward\n```\n\nAfter.") == "Before.\n\nAfter."


@pytest.mark.parametrize("text, message", [
    ("{glue:text}`missing`", "glued no value 'missing'"),
    ("{glue:text}`name:.2f`", "cannot be formatted with '.2f'"),
    ("{eq}`eq-nowhere`", "no equation labelled 'eq-nowhere'"),
    ("{ref}`nowhere`", "no label 'nowhere'"),
    ("{doc}`nowhere`", "no page 'nowhere'"),
    ("{cite}`nobody`", "no reference 'nobody'"),
    ("{abbr}`MSE (mean squared error)`", "the role {abbr} cannot be shown"),
    (":::{figure} x.png\n:::", "the directive {figure} cannot be shown"),
    ("$$\nx\n$$ (eq-nowhere)", "no equation labelled 'eq-nowhere'"),
    ("```{literalinclude} ../nowhere.py\n```", "no file"),
])
def test_what_the_build_did_not_resolve_is_an_error_not_raw_myst(text, message):
    with pytest.raises(notebook_markdown.RenderError, match=message.replace("{", r"\{")):
        render(text)


def test_a_masked_build_writes_the_mask_for_every_glued_value():
    masked = REFS.masked("\u2593")
    assert render("{glue:text}`acc:.1%` of {glue:text}`n`", masked) == "\u2593 of \u2593"
    with pytest.raises(notebook_markdown.RenderError, match="glued no value"):
        render("{glue:text}`missing`", masked)


def test_myst_left_finds_every_kind_of_myst():
    assert notebook_markdown.myst_left("plain $x$ and `code` and <details>") == []
    for text in ("{eq}`a`", ":::{note}", "```{exercise}", "(label)=", "$$ (eq-a)"):
        assert notebook_markdown.myst_left(f"before\n{text}\nafter"), text


def test_refs_round_trip_through_the_file_the_build_writes(tmp_path):
    REFS.dump(tmp_path / notebook_markdown.REFS_FILE)
    assert notebook_markdown.Refs.load(tmp_path) == REFS
    with pytest.raises(notebook_markdown.RenderError, match="run `make book` first"):
        notebook_markdown.Refs.load(tmp_path / "nowhere")


def test_the_site_extension_names_the_same_file():
    text = (REPO / "book" / "_ext" / "labcode_book.py").read_text(encoding="utf8")
    assert f'NOTEBOOK_REFS_FILE = "{notebook_markdown.REFS_FILE}"' in text
