"""Parlour's built-in chat templates (see README.md here); read them with importlib.resources."""
