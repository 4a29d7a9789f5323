"""A chat on a remote model in the window: listed in the model picker as leaving this computer, loaded,
its reply streamed into the view and stored like any other."""

from __future__ import annotations

import keyring

from app.library import remotes
from app.store import branches
from app.ui.main_window import MainWindow
from tests.support.remote_servers import KEY, served_model
from tests.ui.conftest import LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS


def test_a_remote_model_chats_in_the_window(
    qtbot, test_keyring, llama_server: str, window: MainWindow, starter_gguf
) -> None:  # noqa: ANN001
    # The keyring comes first: the window starts its engine host, which reads the key, with that environment.
    endpoint = remotes.add_endpoint("box", llama_server, KEY)
    model = remotes.model_of(endpoint, served_model(llama_server))
    try:
        with qtbot.waitSignal(window.picker.listed, timeout=LOAD_TIMEOUT_MS):
            window.picker.refresh()
        index = window.picker.box.findData(model.path)
        assert index >= 0 and "leaves this computer" in window.picker.box.itemText(index)
        with qtbot.waitSignal(window.session.loaded, timeout=LOAD_TIMEOUT_MS):
            window.picker.box.setCurrentIndex(index)
            window.picker.box.activated.emit(index)
        assert window.picker.engine_label.text() == "Remote · leaves this computer"
        window.composer.input.setPlainText("What is the capital of France? Answer in one sentence.")
        with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS) as finished:
            window.composer.submit()
        assert finished.args[0].finish_reason in ("stop", "length")
        reply = window.chat.messages.row_at(1)
        assert "Paris" in reply.content
        stored = branches.load_thread(window.store, window.chat.conversation_id).messages
        assert stored[-1].content == reply.content and stored[-1].model == model.name
        # Back to the local model for the next turn: the same conversation, its history along.
        local = window.picker.box.findData(str(starter_gguf))
        with qtbot.waitSignal(window.session.loaded, timeout=LOAD_TIMEOUT_MS):
            window.picker.box.setCurrentIndex(local)
            window.picker.box.activated.emit(local)
        window.composer.input.setPlainText("And of Italy?")
        with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
            window.composer.submit()
        sent = window.chat.engine_messages()
        assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant"]
        assert sent[1]["content"] == reply.content  # the remote model's reply went to the local one
        stored = branches.load_thread(window.store, window.chat.conversation_id).messages
        assert [m.model for m in stored if m.role == "assistant"] == [model.name, window.session.name]
    finally:
        remotes.remove_endpoint("box")
        assert keyring.get_password("parlour-remote", "box") is None


def test_an_endpoint_is_added_from_the_window(qtbot, test_keyring, llama_server: str, window: MainWindow) -> None:  # noqa: ANN001
    window.show_add_remote()
    dialog = window.tool_windows["remote"]
    dialog.name.setText("box")
    dialog.url.setText("ftp://not-http")
    dialog.add_button.click()
    qtbot.waitUntil(lambda: "is not an http:// or https:// address" in dialog.note.text(), timeout=LOAD_TIMEOUT_MS)
    assert remotes.list_endpoints() == []  # nothing kept
    dialog.url.setText(llama_server)
    dialog.key.setText(KEY)
    with qtbot.waitSignal(window.picker.listed, timeout=LOAD_TIMEOUT_MS):
        dialog.add_button.click()
    try:
        assert dialog.note.text() == "Added box: 1 model." and dialog.key.text() == ""
        assert keyring.get_password("parlour-remote", "box") == KEY
        names = [window.picker.box.itemText(i) for i in range(window.picker.box.count())]
        assert any("on box · remote: leaves this computer" in name for name in names)
    finally:
        remotes.remove_endpoint("box")
