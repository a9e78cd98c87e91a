"""scim-pipeline: move users and groups in and out of a SCIM 2.0 service."""

__version__ = "0.1.0"
