"""Runs every Python example in docs/*.md, README.md and the package's docstrings."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from typing import Any

from sybil import Example, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser
from sybil.parsers.rest import DocTestParser

_PRINTED = "_printed_by_last_example"


class _PrintingPythonEvaluator(PythonEvaluator):
    """Runs a ```python block and keeps what it printed for the ```text block after it."""

    def __call__(self, example: Example) -> None:
        __tracebackhide__ = True
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            super().__call__(example)
        example.namespace[_PRINTED] = printed.getvalue()


def _printed_output_matches(example: Example) -> str | None:
    """A ```text block right after a block that printed must be exactly what it printed.

    Blocks that print nothing are not compared: their ```text blocks show an error
    message or a terminal session for the reader.
    """
    printed = example.namespace.pop(_PRINTED, "")
    if not printed:
        return None
    expected = [line.rstrip() for line in str(example.parsed).strip("\n").splitlines()]
    got = [line.rstrip() for line in printed.strip("\n").splitlines()]
    if expected != got:
        return "the example printed:\n" + "\n".join(got) + "\nbut the page shows:\n" + (
            "\n".join(expected)
        )
    return None




def _in_scratch_directory(namespace: dict[str, Any]) -> None:
    # Examples open sqlite:///complaints.db and the like: keep them out of the tree.
    namespace["_previous_cwd"] = os.getcwd()
    namespace["_scratch"] = tempfile.TemporaryDirectory()
    os.chdir(namespace["_scratch"].name)


def _back(namespace: dict[str, Any]) -> None:
    os.chdir(namespace["_previous_cwd"])
    namespace["_scratch"].cleanup()


class _PythonBlocks(PythonCodeBlockParser):
    """```python blocks (doctest-style ones too); plain ones keep what they print."""

    def __init__(self) -> None:
        super().__init__()
        self.codeblock_parser = CodeBlockParser("python", _PrintingPythonEvaluator())


markdown_examples = Sybil(
    parsers=[
        _PythonBlocks(),
        CodeBlockParser(language="text", evaluator=_printed_output_matches),
        SkipParser(),
    ],
    patterns=["*.md"],
    excludes=["CHANGELOG.md"],
    setup=_in_scratch_directory,
    teardown=_back,
)
docstring_examples = Sybil(parsers=[DocTestParser()], patterns=["src/complaint_flow/*.py",
                                                                "src/complaint_flow/**/*.py"])

pytest_collect_file = (markdown_examples + docstring_examples).pytest()
