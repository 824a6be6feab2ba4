"""data_quality: the quarantined_rows asset that collects every source's refused rows (core/quarantine.py)."""
