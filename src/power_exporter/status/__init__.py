"""The status page and the JSON API (``/``, ``/api/v1/devices``), with their history."""
