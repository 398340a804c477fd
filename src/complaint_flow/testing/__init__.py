"""Test helpers for host applications and plugin authors.

- :mod:`complaint_flow.testing.pytest_plugin` (loaded automatically by pytest):
  ``complaint_engine``, ``complaint_clock`` and ``complaint_notifications`` fixtures.
- :mod:`complaint_flow.testing.conformance`: the store conformance suite that
  every store, built-in or third-party, must pass.
"""

from __future__ import annotations

from complaint_flow.testing.capture import CapturedNotifications

__all__ = ["CapturedNotifications"]
