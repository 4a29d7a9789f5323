"""Action icons (Lucide, ISC licence: see LICENSE here), drawn in the palette's colours by app/ui/icons.py."""
