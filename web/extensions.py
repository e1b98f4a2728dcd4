"""The Flask extensions, created here and bound to the app in `web.create_app`.

Blueprints that need one (the console exempts its JSON endpoint from CSRF) import it from this
module, never from `web` itself, which imports the blueprints: no import circle.
"""

from __future__ import annotations

from flask_wtf.csrf import CSRFProtect

__all__ = ["csrf"]

csrf = CSRFProtect()
