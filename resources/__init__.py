"""Data that ships inside the package (chat templates, presets); read it with importlib.resources."""
