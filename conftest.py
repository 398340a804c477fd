"""Runs every Python example in docs/*.md, README.md and the package's docstrings."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser
from sybil.parsers.rest import DocTestParser


def _in_scratch_directory(namespace: dict[str, Any]) -> None:
    # Examples open sqlite:///complaints.db and the like: keep them out of the tree.
    namespace["_previous_cwd"] = os.getcwd()
    namespace["_scratch"] = tempfile.TemporaryDirectory()
    os.chdir(namespace["_scratch"].name)


def _back(namespace: dict[str, Any]) -> None:
    os.chdir(namespace["_previous_cwd"])
    namespace["_scratch"].cleanup()


markdown_examples = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["*.md"],
    excludes=["CHANGELOG.md"],
    setup=_in_scratch_directory,
    teardown=_back,
)
docstring_examples = Sybil(parsers=[DocTestParser()], patterns=["src/complaint_flow/*.py",
                                                                "src/complaint_flow/**/*.py"])

pytest_collect_file = (markdown_examples + docstring_examples).pytest()
