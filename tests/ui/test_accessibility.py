"""What assistive technology is told: every interactive widget of every window has a name and a
description, and messages expose who wrote them and their text."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTextEdit,
    QWidget,
)

from app.ui.load_settings_dialog import LoadSettingsDialog
from app.ui.main_window import MainWindow
from app.ui.message_widget import MessageWidget
from tests.store.helpers import chat
from tests.ui.markdown_samples import REPLY

INTERACTIVE = (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
)


def accessible(widget: QWidget, what: QAccessible.Text) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(what).strip() if interface is not None else ""


def interactive_widgets(top: QWidget) -> list[QWidget]:
    """The widgets a person can reach and use, less Qt's own parts of a compound widget."""
    found = []
    for widget in top.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or isinstance(widget, QScrollBar | QHeaderView):
            continue  # scroll bars and a table's headers are read as parts of their view
        if widget.window().inherits("QComboBoxPrivateContainer"):
            continue  # the list a combo box drops down: the combo box is named
        if widget.objectName().startswith("qt_"):  # a spin box's line edit, a combo box's list: named by their owner
            continue
        if isinstance(widget.parentWidget(), QComboBox | QAbstractSpinBox | QLineEdit):
            continue  # a part of a compound widget (a line edit's clear button): its owner is named
        found.append(widget)
    return found


def unnamed(top: QWidget) -> list[str]:
    missing = []
    for widget in interactive_widgets(top):
        name = accessible(widget, QAccessible.Text.Name)
        description = accessible(widget, QAccessible.Text.Description)
        if not name or not description:
            label = widget.objectName() or type(widget).__name__
            missing.append(
                f"{label} ({widget.text() if isinstance(widget, QAbstractButton) else ''!r}): "
                f"name {name!r}, description {description!r}"
            )
    return missing


def test_every_interactive_widget_of_every_window_has_a_name_and_a_description(
    qtbot,
    window: MainWindow,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    conversation = chat(window.store, ("Show me Markdown.", REPLY), title="Named")
    window.conversations.refresh()
    window.chat.open_conversation(conversation)
    window.actions.toggle_params.setChecked(True)
    qtbot.waitUntil(lambda: window.view.widget_for(window.chat.messages.row_at(1).id) is not None)
    window.show_browser()
    window.show_library()
    window.show_shortcuts()
    window.show_server()
    window.show_add_remote()
    window.show_compare()
    starter = window.comparable_models()[0]
    window.tool_windows["compare"].choose([starter, starter])  # two columns, with their buttons
    window.show_evals()
    window.show_tools()
    window.actions.show_documents()
    attached = tmp_path / "notes.md"
    attached.write_text("Notes.")
    window.composer.attach([attached])  # its chip, with the button that takes it off
    load_settings = window.picker.open_load_settings()  # the loaded model's, from the picker's settings menu
    assert isinstance(load_settings, LoadSettingsDialog)
    qtbot.waitUntil(lambda: load_settings.facts is not None, timeout=30_000)  # its draft models are listed
    tops = [window, *window.tool_windows.values(), load_settings]
    assert {"browser", "library", "shortcuts", "server", "remote", "compare", "evals", "tools", "documents"} <= set(
        window.tool_windows
    )
    qtbot.waitUntil(lambda: window.tool_windows["browser"].results.rowCount() > 0, timeout=30_000)
    assert len(interactive_widgets(window)) > 40  # the walk finds the window's controls
    missing = [line for top in tops for line in unnamed(top)]
    print("\n".join(missing))
    assert missing == []
    for top in window.tool_windows.values():
        top.close()
    load_settings.close()


def test_the_load_settings_dialog_names_its_controls(qtbot, window: MainWindow) -> None:
    dialog = window.picker.open_load_settings()
    assert isinstance(dialog, LoadSettingsDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.facts is not None, timeout=30_000)
    assert len(interactive_widgets(dialog)) >= 14  # eleven fields and three buttons
    assert unnamed(dialog) == []
    assert accessible(dialog.gpu_layers, QAccessible.Text.Name) == "GPU layers"
    dialog.close()


def test_the_welcome_page_names_its_controls(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: bool(window.welcome.suggestions), timeout=30_000)
    assert unnamed(window.welcome) == []
    downloads = [b for b in interactive_widgets(window.welcome) if b.text() == "Download"]
    assert downloads and all(accessible(b, QAccessible.Text.Name).startswith("Download ") for b in downloads)


def test_messages_expose_their_role_and_text(qtbot, window: MainWindow) -> None:
    conversation = chat(window.store, ("What is a river?", "A river is water that flows to the sea."), title="Roles")
    window.chat.open_conversation(conversation)
    ids = [window.chat.messages.row_at(i).id for i in range(2)]
    qtbot.waitUntil(lambda: all(window.view.widget_for(i) is not None for i in ids))
    user, reply = (window.view.widget_for(i) for i in ids)
    assert isinstance(user, MessageWidget) and isinstance(reply, MessageWidget)
    assert accessible(user, QAccessible.Text.Name) == "You"
    assert accessible(reply, QAccessible.Text.Name) == "Assistant"
    assert accessible(user, QAccessible.Text.Description) == "What is a river?"
    assert accessible(reply, QAccessible.Text.Description) == "A river is water that flows to the sea."
    text = QAccessible.queryAccessibleInterface(reply.content_view)
    assert "flows to the sea" in text.text(QAccessible.Text.Value)


def test_a_reply_s_sources_and_the_source_window_are_named(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    from app.documents.passages import Citation
    from app.store.conversations import create_conversation
    from app.store.messages import add_user_message
    from app.store.replies import start_reply

    conversation = create_conversation(window.store, title="Sources").id
    question = add_user_message(window.store, conversation, "What is the budget?", attachments=["/tmp/budget.md"])
    citation = Citation(1, "/tmp/budget.md", heading="Budget", snippet="The budget is 40,000 euros.")
    writer = start_reply(window.store, conversation, question.id, citations=[citation])
    writer.append("40,000 euros [1].")
    assert writer.finish("stop")
    window.chat.open_conversation(conversation)
    qtbot.waitUntil(lambda: window.view.widget_for(writer.message_id) is not None)
    sources = window.view.widget_for(writer.message_id).documents
    assert accessible(sources, QAccessible.Text.Name) == "Sources"
    assert "budget.md, Budget" in accessible(sources, QAccessible.Text.Description)
    user = window.view.widget_for(question.id).documents
    assert accessible(user, QAccessible.Text.Name) == "Attached files"
    dialog = sources.open_citation(1)
    assert dialog is not None and unnamed(dialog) == []
    assert len(interactive_widgets(dialog)) >= 2  # Open file and Close
    dialog.close()
