"""Talking to a SCIM 2.0 server: HTTP client, dialects and schemas."""
