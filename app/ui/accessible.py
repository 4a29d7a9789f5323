"""Names and descriptions for assistive technology (and the tooltips that say the same to a mouse user).

`describe` sets a widget's accessible name and description, and its tooltip where it has none, so
what a screen reader says and what a tooltip shows agree. `name_form_fields` names each field of a
QFormLayout after its label (QFormLayout does not make the label a buddy by itself), down to the
parts of a compound field such as a slider with its number box.
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

W = TypeVar("W", bound=QWidget)
FIELDS = (QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit)


def describe(widget: W, name: str, description: str) -> W:
    """Name and describe `widget`; the description is its tooltip too unless it has one."""
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)
    if not widget.toolTip():
        widget.setToolTip(description)
    return widget


def name_form_fields(form: QFormLayout) -> None:
    """Name every field of a form after its row's label; a field's own name or description is kept."""
    for row in range(form.rowCount()):
        label_item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        field_item = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
        if label_item is None or field_item is None or field_item.widget() is None:
            continue
        label = label_item.widget()
        text = label.text() if isinstance(label, QLabel) else ""
        if not text:
            continue
        field = field_item.widget()
        if isinstance(label, QLabel):
            label.setBuddy(field)
        parts = [field] if isinstance(field, FIELDS) else field.findChildren(QWidget)
        for part in parts:
            if isinstance(part, FIELDS) and not part.objectName().startswith("qt_"):
                if not part.accessibleName():
                    part.setAccessibleName(text)
                if not part.accessibleDescription():
                    part.setAccessibleDescription(part.toolTip() or text)
