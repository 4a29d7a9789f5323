"""Evaluation sets: cases (a prompt and checks on the reply), read from and written to JSONL."""
