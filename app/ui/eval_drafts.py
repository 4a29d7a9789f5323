"""An evaluation set as the editor holds it while the person types: each case's fields as text, each
check as its type and one line of text (its argument), so a half-written case never has to be a valid
one. `set_from_drafts` turns the drafts back into an `EvalSet` through the same reading as a JSONL
file (`parse_jsonl`), so the window refuses exactly what `parlour eval import` refuses, with the same
sentence naming the case.

A check's argument, by type: the words of `contains_all` / `contains_any` separated by commas, the
pattern of `regex`, the text of `equals`, the schema of `json_schema` as JSON, the number of
`max_words`; `json` takes none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.evals.checks import KINDS, Check, EvalSetError
from app.evals.sets import EvalSet, parse_jsonl

CASE_SENSITIVE_KINDS = ("contains_all", "contains_any", "regex", "equals")  # those that honour case_sensitive
ARGUMENT_HINTS = {
    "contains_all": "words, separated by commas",
    "contains_any": "words, separated by commas",
    "regex": "a regular expression, searched anywhere in the reply",
    "equals": "the whole reply, exactly",
    "json": "nothing to give: the reply must be JSON",
    "json_schema": 'a JSON Schema, e.g. {"type": "object"}',
    "max_words": "a whole number",
}
assert set(ARGUMENT_HINTS) == set(KINDS)  # a new check type needs its hint here


@dataclass
class CheckDraft:
    kind: str = "contains_all"
    argument: str = ""
    case_sensitive: bool = False


@dataclass
class CaseDraft:
    id: str = ""
    prompt: str = ""
    system: str = ""
    turns: list[dict[str, str]] = field(default_factory=list)  # kept as they were read: not edited here
    checks: list[CheckDraft] = field(default_factory=list)


def argument_of(check: Check) -> str:
    """The one line of text the editor shows for a check's argument."""
    if check.kind in ("contains_all", "contains_any"):
        return ", ".join(check.words)
    if check.kind == "json_schema":
        return json.dumps(check.schema, ensure_ascii=False)
    return {"regex": check.pattern, "equals": check.text, "max_words": str(check.limit)}.get(check.kind, "")


def drafts_from_set(evals: EvalSet) -> list[CaseDraft]:
    return [
        CaseDraft(
            case.id,
            case.prompt,
            case.system,
            [dict(turn) for turn in case.turns],
            [CheckDraft(c.kind, argument_of(c), c.case_sensitive) for c in case.checks],
        )
        for case in evals.cases
    ]


def raw_check(draft: CheckDraft, where: str) -> dict[str, Any]:
    """The check's JSON form, for `parse_check` to judge; only text that is not JSON is refused here."""
    raw: dict[str, Any] = {"type": draft.kind}
    text = draft.argument
    if draft.kind in ("contains_all", "contains_any"):
        raw["words"] = [word.strip() for word in text.split(",") if word.strip()]
    elif draft.kind == "regex":
        raw["pattern"] = text
    elif draft.kind == "equals":
        raw["text"] = text
    elif draft.kind == "json_schema":
        try:
            raw["schema"] = json.loads(text)
        except json.JSONDecodeError as err:
            raise EvalSetError(f"{where}: the JSON Schema is not JSON ({err.msg}).") from None
    elif draft.kind == "max_words":
        stripped = text.strip()
        raw["n"] = int(stripped) if stripped.isdigit() else stripped  # parse_check says what a number must be
    if draft.case_sensitive and draft.kind in CASE_SENSITIVE_KINDS:
        raw["case_sensitive"] = True
    return raw


def case_dict(draft: CaseDraft, number: int) -> dict[str, Any]:
    """The case as a JSONL line holds it; EvalSetError when it has no id or a check is not JSON."""
    case_id = draft.id.strip()
    if not case_id:
        raise EvalSetError(f"Case {number} needs an id.")
    where = f"Case '{case_id}'"
    out: dict[str, Any] = {"id": case_id, "prompt": draft.prompt}
    if draft.system.strip():
        out["system"] = draft.system
    if draft.turns:
        out["turns"] = draft.turns
    out["checks"] = [raw_check(check, where) for check in draft.checks]
    return out


def set_from_drafts(name: str, description: str, drafts: list[CaseDraft]) -> EvalSet:
    """The set the drafts make, read as a JSONL file is read; EvalSetError (naming the case) when unusable."""
    if not name.strip() or name != name.strip():
        raise EvalSetError("The set needs a name, without spaces around it.")
    lines = [json.dumps({"set": name, "description": description}, ensure_ascii=False)]
    lines += [json.dumps(case_dict(draft, number), ensure_ascii=False) for number, draft in enumerate(drafts, 1)]
    return parse_jsonl("\n".join(lines) + "\n", name)


def new_case(existing: list[CaseDraft]) -> CaseDraft:
    """An empty case with an id not yet used, and one check to fill in."""
    ids = {draft.id for draft in existing}
    number = len(existing) + 1
    while f"case-{number}" in ids:
        number += 1
    return CaseDraft(f"case-{number}", checks=[CheckDraft()])
