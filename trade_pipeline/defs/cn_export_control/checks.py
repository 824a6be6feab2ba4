"""Standalone asset checks of the cn_export_control layer.

All of this layer's checks are declared on ``mofcom_announcements`` via ``check_specs`` (title-only fetch failures,
undecidable category, immediate-effect major control, content/title mismatch) and need not be listed here.
"""

CHECKS: list = []
