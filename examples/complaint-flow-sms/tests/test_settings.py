"""Settings: checked when made, from arguments or the environment, naming what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from complaint_flow import InvalidArgumentError

from complaint_flow_sms import ENVIRONMENT, SmsSettings, configured_in

URL = "https://sms.example.net/v1/messages"


def test_every_setting_from_the_environment(tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("not read until a request is made")
    environ = {
        "COMPLAINT_FLOW_SMS_GATEWAY_URL": URL,
        "COMPLAINT_FLOW_SMS_TOKEN": "t0ken",
        "COMPLAINT_FLOW_SMS_SENDER": "+44 7700 900999",
        "COMPLAINT_FLOW_SMS_WEBHOOK_SECRET": "s3cret",
        "COMPLAINT_FLOW_SMS_DEFAULT_COUNTRY": "+44",
        "COMPLAINT_FLOW_SMS_MAX_SEGMENTS": "5",
        "COMPLAINT_FLOW_SMS_LONG_LETTERS": "refuse",
        "COMPLAINT_FLOW_SMS_TIMEOUT": "2.5",
        "COMPLAINT_FLOW_SMS_CAFILE": str(cafile),
        "COMPLAINT_FLOW_SMS_UNREACHABLE_CODES": "invalid_number, landline",
    }
    assert set(environ) == set(ENVIRONMENT.values())

    settings = SmsSettings.from_environment(environ)

    assert settings == SmsSettings(
        URL,
        "t0ken",
        sender="+447700900999",
        webhook_secret="s3cret",
        default_country="44",
        max_segments=5,
        long_letters="refuse",
        timeout=2.5,
        cafile=cafile,
        unreachable_codes=["invalid_number", "landline"],
    )
    assert settings.unreachable_codes == {"invalid_number", "landline"}
    assert "t0ken" not in repr(settings)
    assert "s3cret" not in repr(settings)


def test_unset_and_empty_variables_take_the_defaults() -> None:
    settings = SmsSettings.from_environment(
        {ENVIRONMENT["gateway_url"]: URL, ENVIRONMENT["token"]: "t", ENVIRONMENT["sender"]: ""}
    )
    assert (settings.sender, settings.max_segments, settings.timeout) == (None, 3, 10.0)


@pytest.mark.parametrize("missing", ["COMPLAINT_FLOW_SMS_GATEWAY_URL", "COMPLAINT_FLOW_SMS_TOKEN"])
def test_a_missing_required_variable_is_named(missing: str) -> None:
    environ = {"COMPLAINT_FLOW_SMS_GATEWAY_URL": URL, "COMPLAINT_FLOW_SMS_TOKEN": "t"}
    del environ[missing]
    with pytest.raises(InvalidArgumentError, match=f"{missing} is not set"):
        SmsSettings.from_environment(environ)


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not configured_in()
    monkeypatch.setenv("COMPLAINT_FLOW_SMS_GATEWAY_URL", URL)
    monkeypatch.setenv("COMPLAINT_FLOW_SMS_TOKEN", "t")
    assert configured_in()
    assert SmsSettings.from_environment().gateway_url == URL


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"gateway_url": "ftp://sms.example.net"}, "must be an https:// URL"),
        ({"gateway_url": "http://sms.example.net/v1"}, "unencrypted"),
        ({"gateway_url": "https://user:pw@sms.example.net"}, "user name or password"),
        ({"gateway_url": ""}, "COMPLAINT_FLOW_SMS_GATEWAY_URL"),
        ({"token": ""}, r"token \(COMPLAINT_FLOW_SMS_TOKEN\) .* empty"),
        ({"token": "abc\r\nX-Evil: 1"}, "printable ASCII"),
        ({"sender": "Northwind Bank Ltd"}, "1 to 11 letters"),
        ({"sender": "12345"}, "no country code"),
        ({"sender": "+44 12"}, "SENDER"),
        ({"default_country": "0"}, "DEFAULT_COUNTRY"),
        ({"max_segments": 0}, "from 1 to 10"),
        ({"max_segments": True}, "from 1 to 10"),
        ({"max_segments": "many"}, "COMPLAINT_FLOW_SMS_MAX_SEGMENTS"),
        ({"long_letters": "truncate"}, "'split'"),
        ({"timeout": 0}, "more than 0"),
        ({"timeout": 60}, "at most 30"),
        ({"timeout": "soon"}, "COMPLAINT_FLOW_SMS_TIMEOUT"),
        ({"cafile": "/nonexistent/ca.pem"}, "is not a file"),
        ({"unreachable_codes": []}, "at least one"),
        ({"unreachable_codes": {"a": 1}}, "error codes"),
        ({"webhook_secret": " s3cret"}, "WEBHOOK_SECRET"),
    ],
)
def test_a_wrong_value_is_refused_naming_it(options: dict[str, Any], problem: str) -> None:
    arguments: dict[str, Any] = {"gateway_url": URL, "token": "t0ken", **options}
    with pytest.raises(InvalidArgumentError, match=problem) as refused:
        SmsSettings(**arguments)
    assert "t0ken" not in str(refused.value)


def test_plain_http_is_allowed_to_this_machine_only() -> None:
    for url in ["http://127.0.0.1:8080/v1", "http://localhost/v1", "http://[::1]:9/v1"]:
        assert SmsSettings(url, "t").gateway_url == url
