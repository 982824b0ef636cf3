"""The source config: read from settings (``loading``), checked whole and assembled
(``validation``) into the typed model the streams are built from (``model``)."""

from tap_restgeneric.source.loading import PRESETS, Invocation, preset_path, preset_schema, schemas_dir
from tap_restgeneric.source.model import ResourceConfig, Source
from tap_restgeneric.source.validation import load_source

__all__ = ["PRESETS", "Invocation", "ResourceConfig", "Source", "load_source", "preset_path", "preset_schema", "schemas_dir"]
