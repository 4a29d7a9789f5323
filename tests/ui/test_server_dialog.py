"""The window's API server: the switch starts it (address, key and a curl example shown), the window's
loaded model answers on the window's own engine host, and switching off stops it."""

from __future__ import annotations

import httpx2 as httpx
import openai
import pytest

from app.ui.main_window import MainWindow
from tests.support.parlour_server import free_port


def test_the_switch_serves_the_windows_model_from_its_own_engine_host(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLOUR_SERVER_TOKEN", "window-token")
    window.show_server()
    dialog = window.tool_windows["server"]
    port = free_port()
    dialog.port.setValue(port)
    dialog.switch.setChecked(True)
    url = f"http://127.0.0.1:{port}/v1"
    assert dialog.address.text() == url and dialog.key.text() == "window-token"
    assert f"curl {url}/chat/completions" in dialog.curl.toPlainText()
    assert window.session.name in dialog.curl.toPlainText()
    assert "window-token" not in dialog.curl.toPlainText()  # hidden on screen while the key field hides it
    dialog.copy_curl.click()
    from PySide6.QtGui import QGuiApplication

    assert "Bearer window-token" in QGuiApplication.clipboard().text()  # the copy works as it is
    dialog.show_key.click()
    assert "Bearer window-token" in dialog.curl.toPlainText()
    assert window.status_line.text() == f"Serving the API at {url}."
    client = openai.OpenAI(base_url=url, api_key="window-token", max_retries=0, timeout=120)
    answer = client.chat.completions.create(
        model=window.session.name, messages=[{"role": "user", "content": "Hi"}], max_tokens=8, temperature=0
    )
    assert answer.choices[0].message.content
    assert not any(dialog.registry.is_loaded(m.path) for m in dialog.registry.models())  # the window's host answered
    dialog.switch.setChecked(False)
    assert dialog.status.text() == "Stopped." and window.status_line.text() == "API server stopped."
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/models", headers={"Authorization": "Bearer window-token"}, timeout=5)


def test_a_taken_port_is_a_sentence(qtbot, window: MainWindow) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        window.show_server()
        dialog = window.tool_windows["server"]
        dialog.port.setValue(taken.getsockname()[1])
        dialog.switch.setChecked(True)
        assert not dialog.switch.isChecked()
        assert dialog.status.text() == f"Port {taken.getsockname()[1]} is in use by another program; choose another."
