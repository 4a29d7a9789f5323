"""An evaluation set: a name, a description and cases, each a prompt (with an optional system prompt
and earlier turns) and the checks its reply must pass. Read from JSONL and written back the same way:
an optional first line {"set": NAME, "description": ...}, then one case a line
{"id": ..., "prompt": ..., "system": ..., "turns": [...], "checks": [...]}.

Reading is bounded (lines, cases, text) and refuses anything unusable with a sentence naming the line
or case; nothing half-read is returned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from app.evals.checks import Check, EvalSetError, parse_check

MAX_CASES = 1000
MAX_LINE = 256 * 1024
MAX_CHECKS = 20
STARTER_SET = "starter"


@dataclass(frozen=True)
class EvalCase:
    id: str
    prompt: str
    checks: tuple[Check, ...]
    system: str = ""
    turns: tuple[dict[str, str], ...] = ()  # earlier messages, oldest first

    def messages(self) -> list[dict[str, str]]:
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, *self.turns, {"role": "user", "content": self.prompt}]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "prompt": self.prompt}
        if self.system:
            out["system"] = self.system
        if self.turns:
            out["turns"] = list(self.turns)
        out["checks"] = [check.to_dict() for check in self.checks]
        return out


@dataclass(frozen=True)
class EvalSet:
    name: str
    cases: tuple[EvalCase, ...]
    description: str = ""
    checks_total: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks_total", sum(len(case.checks) for case in self.cases))


def parse_jsonl(text: str, name: str) -> EvalSet:
    """The set in `text`; EvalSetError with one sentence when any line or case cannot be used."""
    description = ""
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            raise EvalSetError(f"Line {number} is longer than {MAX_LINE // 1024} KB.")
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise EvalSetError(f"Line {number} is not JSON ({err.msg}).") from None
        if not isinstance(item, dict):
            raise EvalSetError(f"Line {number} is not a JSON object.")
        if "set" in item and not cases:
            name = str(item["set"]).strip() or name
            description = str(item.get("description", ""))
            continue
        case = _case(item, number)
        if case.id in seen:
            raise EvalSetError(f"Case '{case.id}' appears twice.")
        seen.add(case.id)
        cases.append(case)
        if len(cases) > MAX_CASES:
            raise EvalSetError(f"A set holds at most {MAX_CASES} cases.")
    if not cases:
        raise EvalSetError("The set has no cases.")
    return EvalSet(name, tuple(cases), description)


def _case(item: dict[str, Any], number: int) -> EvalCase:
    case_id = str(item.get("id") or f"case-{number}")[:100]
    where = f"Case '{case_id}'"
    prompt = item.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise EvalSetError(f"{where}: the prompt is missing.")
    system = item.get("system", "")
    if not isinstance(system, str):
        raise EvalSetError(f"{where}: the system prompt must be text.")
    turns = item.get("turns", [])
    if not isinstance(turns, list) or not all(
        isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str)
        for t in turns
    ):
        raise EvalSetError(f"{where}: turns must be a list of user and assistant messages.")
    raw_checks = item.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks or len(raw_checks) > MAX_CHECKS:
        raise EvalSetError(f"{where}: give 1 to {MAX_CHECKS} checks.")
    checks = tuple(parse_check(raw, where) for raw in raw_checks)
    clean_turns = tuple({"role": t["role"], "content": t["content"]} for t in turns)
    return EvalCase(case_id, prompt, checks, system, clean_turns)


def to_jsonl(evals: EvalSet) -> str:
    lines = [json.dumps({"set": evals.name, "description": evals.description}, ensure_ascii=False)]
    lines += [json.dumps(case.to_dict(), ensure_ascii=False) for case in evals.cases]
    return "\n".join(lines) + "\n"


def starter_set() -> EvalSet:
    """The set Parlour ships: a few everyday tasks, each checked."""
    text = (files("resources.evals") / "starter.jsonl").read_text(encoding="utf-8")
    return parse_jsonl(text, STARTER_SET)
