"""The ``learning`` extra: numpy, scipy and scikit-learn, imported only when a statistic runs.

``import complaint_flow`` never imports them (a host that does not learn from its
complaints need not install them); each public statistic calls
:func:`require_learning` first, so a missing package is reported as
:class:`LearningExtraMissingError` with the command that installs it, not as a bare
``ImportError`` from deep inside a computation.
"""

from __future__ import annotations

import importlib

from complaint_flow.errors import ComplaintFlowError

INSTALL = 'pip install "complaint-flow[learning]"'
"""The command that installs everything the statistics need."""


class LearningExtraMissingError(ComplaintFlowError, ImportError):
    """A statistic needs a package of the ``learning`` extra that is not installed."""

    def __init__(self, job: str, package: str, reason: str) -> None:
        self.job = job
        self.package = package
        super().__init__(
            f"{job} needs {package}, which cannot be imported ({reason}); install the "
            f"learning extra: {INSTALL}"
        )


def require_learning(job: str, *packages: str) -> None:
    """Import ``packages`` (e.g. ``"numpy"``, ``"sklearn"``) or say how to install them.

    Args:
        job: what needs them, as the message names it (e.g. ``"detect_spikes"``).
        packages: the import names needed.

    Raises:
        LearningExtraMissingError: one of them cannot be imported.
    """
    for package in packages:
        try:
            importlib.import_module(package)
        except ImportError as exc:
            raise LearningExtraMissingError(job, package, str(exc) or type(exc).__name__) from exc
