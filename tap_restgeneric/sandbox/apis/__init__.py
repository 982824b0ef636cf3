"""The sandbox's APIs, one module each: the five seed presets, in seed order, and ``bench``.

Each module defines one :class:`~tap_restgeneric.sandbox.fields.ApiSpec` (authentication, paging
style, endpoints with record counts and fields) and the paging limits the server enforces for it.
"""

from __future__ import annotations

from .bench import BENCH
from .certifications import CERTIFICATIONS
from .incidents import INCIDENTS
from .learning import LEARNING
from .operations import OPERATIONS
from .social_insights import SOCIAL_INSIGHTS

__all__ = ["BENCH", "CERTIFICATIONS", "INCIDENTS", "LEARNING", "OPERATIONS", "SOCIAL_INSIGHTS"]
