"""The bundle's entry point: the same `parlour` command as the console script.

`app.cli.main()` also runs the engine host and the template render process when the bundle starts
itself with `--parlour-run-module` (there is no `python -m` inside a bundle).
"""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
