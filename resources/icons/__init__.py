"""Parlour's app icon: parlour.svg and its PNG renderings (packaging/icons/render_icons.py makes them)."""
