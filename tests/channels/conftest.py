"""The channel tests' fixtures: a real SMTP server on 127.0.0.1 (see ``tests/smtp_server.py``)."""

from smtp_server import smtp_ca, smtp_servers

__all__ = ["smtp_ca", "smtp_servers"]
