"""Published efficient-SR networks (2018-2022), each written from its paper's description as the
``model.py`` a team would submit: ``build_model()`` and the quirks the original code has.

Each file names its source, the published parameter count and how the exact figure relates to it.
"""
