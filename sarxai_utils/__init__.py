"""sarxai_utils: the helper package of the sarxai course (explainable AI for SAR image classification).

Modules, one concern each: ``config`` (profiles, data directory, device), ``sar`` (intensity, dB, speckle),
``synthetic`` (the embedded SAR scene generators), ``cache`` (atomic on-disk cache with a manifest),
``readers`` (OpenSARUrban and MSTAR files on disk), ``datasets`` (torch Datasets and preprocessing),
``data`` (the public data API), ``models`` (ResNets, checkpoints, ``load_or_train``), ``training`` (the
training loop and evaluation), ``explain`` (the eight Captum attribution methods), ``metrics`` (judging
explanations: evidence shares, completeness, map correlations), ``viz`` (figures and attribution heatmaps),
``course`` (runs the notebooks) and ``errors``.
"""

__version__ = "0.1.0"
