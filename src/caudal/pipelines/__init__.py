"""The pipeline platform (``base``, ``feeder``, ``runner``, ``names``, the ``registry``) and one
package per pipeline, registered in ``registry.py`` (guide: docs/adding-a-pipeline.md)."""
