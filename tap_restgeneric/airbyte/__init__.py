"""Airbyte declarative manifests (``manifest.yaml``): read, surveyed and interpolated as the Airbyte CDK does.

``manifest`` resolves references and propagates ``$parameters`` into a plain tree of components;
``census`` lists what a manifest uses and what the tap refuses; ``interpolation`` evaluates the
manifest's Jinja with the CDK's macros, filters and rendering rules in the tap's bounded sandbox.
The translation into the tap's own model builds on these; the CDK itself is never imported.
"""

from tap_restgeneric.airbyte.support import unsupported_components

__all__ = ["unsupported_components"]
