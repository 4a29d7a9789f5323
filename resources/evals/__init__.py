"""The evaluation set Parlour ships (starter.jsonl)."""
