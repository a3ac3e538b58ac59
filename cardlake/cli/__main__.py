"""`python -m cardlake.cli ...`, the same as the `cardlake` console script."""

from cardlake.cli import app

app()
