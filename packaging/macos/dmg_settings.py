"""dmgbuild settings for Parlour.dmg: the app beside an Applications link, to drag it onto.

build.sh runs `dmgbuild -s packaging/macos/dmg_settings.py -D app=dist/Parlour.app Parlour dist/Parlour.dmg`;
dmgbuild runs this file with `defines` (the -D values) already set.
"""

# ruff: noqa: F821 (dmgbuild provides `defines`)

import os.path

app = defines.get("app", "dist/Parlour.app")
app_name = os.path.basename(app)

format = "UDZO"  # zlib-compressed and read-only: opens on every macOS the app supports
files = [app]
symlinks = {"Applications": "/Applications"}

# A plain window, just wide enough for the two icons side by side.
default_view = "icon-view"
window_rect = ((200, 200), (560, 320))
icon_size = 128
text_size = 13
icon_locations = {app_name: (140, 140), "Applications": (420, 140)}
show_status_bar = False
show_tab_view = False
show_toolbar = False
show_pathbar = False
show_sidebar = False
