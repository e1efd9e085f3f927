"""sarxai_utils: the helper package of the sarxai course (explainable AI for SAR image classification).

Modules, one concern each: ``config`` (profiles, data directory, device), ``sar`` (intensity, dB, speckle),
``synthetic`` (the embedded SAR scene generators), ``cache`` (atomic on-disk cache with a manifest), ``readers``
(OpenSARUrban and MSTAR files and folders on disk), ``sources`` (a lesson's data, embedded or real, through one
function), ``datastats`` (statistics that compare datasets: clutter ENL, target-to-clutter ratio, VV - VH
signatures), ``datasets`` (torch Datasets and preprocessing), ``data`` (the public data API), ``models`` (ResNets,
checkpoints, ``load_or_train``), ``training`` (the training loop and evaluation), ``explain`` (the eight Captum
attribution methods and the CAM family behind one call), ``cam`` (MS-CAM, Self-Matching CAM and the torchcam CAM
baselines), ``localization`` (weakly-supervised object localization: boxes from maps, MaxBoxAcc), ``metrics``
(judging explanations: robustness, complexity, ground truth, faithfulness), ``evaluation`` (every metric for many
methods at once, and its tables), ``results`` (expensive results cached on disk like checkpoints), ``papers`` (the
published numbers), ``viz`` (figures and attribution heatmaps), ``widgets`` (the interactive explorer),
``smoothing`` (SmoothGrad variants), ``course`` (runs the notebooks) and ``errors``.
"""

__version__ = "0.1.0"
