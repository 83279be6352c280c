"""publisher: write each public-service description once, publish it in every format.

The flow is content → :mod:`publisher.load` → :mod:`publisher.parse` → one
:class:`publisher.model.Document` per (service, language) → one writer per format
(:mod:`publisher.writers`) → artifacts → audits (:mod:`publisher.audits`) → the published
output with its ``manifest.json``.
"""

__version__ = "0.1.0"
