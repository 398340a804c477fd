"""``python -m complaint_flow.cli``: the ``complaint-flow`` command."""

from complaint_flow.cli import main

main()
