"""Asset checks of the bilateral_trade_flows layer.

Every rule of the layer ([REVIEW_NEEDED] findings, WARN severity) is declared on its asset with ``check_specs`` and
evaluated inside the materialization (see assets.py), because it needs the rows the asset just computed. There are
no standalone checks to register.
"""

CHECKS: list = []
