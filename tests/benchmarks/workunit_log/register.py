"""Pants 2.17 ships its workunit logger (every workunit with its duration, as JSON) without a
`register` module, so it cannot be named in `backend_packages` directly: this one loads it,
for `build_speed.py`'s breakdown of where a cold build's time goes."""

from pants.backend.tools.workunit_logger.rules import rules  # noqa: F401
