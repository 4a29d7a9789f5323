"""The shape the house keeps: no UI module over 400 lines, no function over 60 outside tests, no import cycle.

The measuring is benchmarks/code_shape.py (anyone can run it and read its JSON); this test holds the line.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "code_shape.py"


def _measure() -> dict:
    spec = importlib.util.spec_from_file_location("code_shape", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.measure()


def test_the_code_keeps_its_shape() -> None:
    shape = _measure()
    assert shape["ui_modules_over_400_lines"] == []
    assert shape["functions_over_60_lines"] == []
    assert shape["import_cycles"] == []
    assert shape["modules"] > 100  # the walk found the code, so an empty result means something


def test_the_cycle_finder_finds_a_cycle() -> None:
    spec = importlib.util.spec_from_file_location("code_shape", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert module.import_cycles(graph) == [["a", "b", "c"]]
    assert module.import_cycles({"a": {"b"}, "b": set()}) == []
