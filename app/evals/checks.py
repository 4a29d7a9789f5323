"""Checks on a reply, as an evaluation set states them, and their verdicts.

Kinds: `contains_all` and `contains_any` (words, case-insensitive unless `case_sensitive`), `regex`
(searched anywhere in the reply), `equals` (the whole reply, surrounding space ignored), `json` (the
reply is valid JSON: bare, or alone in one ```json fence), `json_schema` (that JSON matches a JSON
Schema) and `max_words`. A check that cannot be used (an invalid pattern or schema, a missing field)
is refused when the set is read, with the case named. A pattern runs with a time limit: a pattern
that backtracks for ever on some reply fails that check, it never hangs the run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

REGEX_TIMEOUT_S = 1.0
MAX_PATTERN = 2000  # characters of a regular expression
FENCE = re.compile(r"^```(?:json)?\s*\n(.*?)\n?```$", re.DOTALL)
KINDS = ("contains_all", "contains_any", "regex", "equals", "json", "json_schema", "max_words")


class EvalSetError(ValueError):
    """An evaluation set that cannot be used: one sentence naming the case and the field."""


@dataclass(frozen=True)
class Check:
    kind: str
    words: tuple[str, ...] = ()
    pattern: str = ""
    text: str = ""
    schema: Any = None
    limit: int = 0
    case_sensitive: bool = False

    def describe(self) -> str:
        if self.kind in ("contains_all", "contains_any"):
            joined = ", ".join(f"“{w}”" for w in self.words)
            return f"contains {'all of' if self.kind == 'contains_all' else 'one of'} {joined}"
        return {
            "regex": f"matches /{self.pattern}/",
            "equals": f"is exactly “{self.text}”",
            "json": "is valid JSON",
            "json_schema": "is JSON that matches the schema",
            "max_words": f"has at most {self.limit} words",
        }[self.kind]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind}
        if self.kind in ("contains_all", "contains_any"):
            out["words"] = list(self.words)
        elif self.kind == "regex":
            out["pattern"] = self.pattern
        elif self.kind == "equals":
            out["text"] = self.text
        elif self.kind == "json_schema":
            out["schema"] = self.schema
        elif self.kind == "max_words":
            out["n"] = self.limit
        if self.case_sensitive:
            out["case_sensitive"] = True
        return out


@dataclass(frozen=True)
class Verdict:
    check: Check
    passed: bool
    detail: str = ""  # why it failed, in a few words


def parse_check(raw: Any, where: str) -> Check:
    """A check from its JSON form; EvalSetError naming `where` (the case) when it cannot be used."""
    if not isinstance(raw, dict) or raw.get("type") not in KINDS:
        raise EvalSetError(f"{where}: a check needs a type, one of {', '.join(KINDS)}.")
    kind, sensitive = raw["type"], bool(raw.get("case_sensitive", False))
    if kind in ("contains_all", "contains_any"):
        words = raw.get("words")
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            raise EvalSetError(f"{where}: {kind} needs a list of words.")
        return Check(kind, words=tuple(words), case_sensitive=sensitive)
    if kind == "regex":
        return Check(kind, pattern=_checked_pattern(raw.get("pattern"), sensitive, where), case_sensitive=sensitive)
    if kind == "equals":
        if not isinstance(raw.get("text"), str):
            raise EvalSetError(f"{where}: equals needs the text.")
        return Check(kind, text=raw["text"], case_sensitive=sensitive)
    if kind == "json_schema":
        return Check(kind, schema=_checked_schema(raw.get("schema"), where))
    if kind == "max_words":
        limit = raw.get("n")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise EvalSetError(f"{where}: max_words needs n, a whole number above 0.")
        return Check(kind, limit=limit)
    return Check(kind)


def _checked_pattern(pattern: Any, sensitive: bool, where: str) -> str:
    import regex

    if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN:
        raise EvalSetError(f"{where}: regex needs a pattern of 1 to {MAX_PATTERN} characters.")
    try:
        regex.compile(pattern, 0 if sensitive else regex.IGNORECASE)
    except regex.error as err:
        raise EvalSetError(f"{where}: the regular expression /{pattern[:80]}/ is not valid ({err}).") from None
    return pattern


def _checked_schema(schema: Any, where: str) -> Any:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, dict | bool):
        raise EvalSetError(f"{where}: json_schema needs a schema (a JSON object).")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        raise EvalSetError(f"{where}: the JSON Schema is not valid ({err.message}).") from None
    return schema


def parse_json_reply(reply: str) -> Any:
    """The reply's JSON value, bare or alone in a fence; ValueError when it is not JSON."""
    text = reply.strip()
    fenced = FENCE.match(text)
    return json.loads(fenced.group(1) if fenced else text)


def judge(check: Check, reply: str) -> Verdict:
    """Whether `reply` passes `check`, and if not, why."""
    folded = reply if check.case_sensitive else reply.lower()

    def has(word: str) -> bool:
        return (word if check.case_sensitive else word.lower()) in folded

    if check.kind == "contains_all":
        missing = [w for w in check.words if not has(w)]
        return Verdict(check, not missing, f"missing {', '.join(missing)}" if missing else "")
    if check.kind == "contains_any":
        passed = any(has(w) for w in check.words)
        return Verdict(check, passed, "" if passed else "none of the words")
    if check.kind == "regex":
        return _judge_pattern(check, reply)
    if check.kind == "equals":
        want, got = check.text.strip(), reply.strip()
        same = want == got if check.case_sensitive else want.lower() == got.lower()
        return Verdict(check, same, "" if same else "a different text")
    if check.kind == "max_words":
        count = len(reply.split())
        return Verdict(check, count <= check.limit, "" if count <= check.limit else f"{count} words")
    try:
        value = parse_json_reply(reply)
    except ValueError as err:
        return Verdict(check, False, f"not JSON ({err})")
    if check.kind == "json":
        return Verdict(check, True)
    from jsonschema import Draft202012Validator

    problem = next(iter(Draft202012Validator(check.schema).iter_errors(value)), None)
    return Verdict(check, problem is None, "" if problem is None else problem.message[:200])


def _judge_pattern(check: Check, reply: str) -> Verdict:
    import regex

    try:
        found = regex.search(
            check.pattern, reply, 0 if check.case_sensitive else regex.IGNORECASE, timeout=REGEX_TIMEOUT_S
        )
    except TimeoutError:
        return Verdict(check, False, f"the pattern took over {REGEX_TIMEOUT_S:.0f} s on this reply")
    return Verdict(check, found is not None, "" if found else "no match")
