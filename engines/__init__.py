"""Everything that turns messages into tokens. Never imports Qt or app/."""
