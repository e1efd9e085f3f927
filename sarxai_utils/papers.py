"""Numbers published by the papers the course reproduces, exactly as printed there, for side-by-side tables.

Su et al. (2022), *Explainable analysis of deep learning methods for SAR image classification* (IGARSS): ResNet101
on OpenSARUrban, one model per polarization; Table 1 gives Max-Sensitivity (lower = more stable) and "XAI entropy"
(the file size of the explanation picture in KB; lower = simpler) for the eight Captum methods.
"""

from __future__ import annotations

SU_ACCURACY_PERCENT: dict[str, float] = {"VV": 84.44, "VH": 83.44}  # §3.1.2, held-out accuracy of ResNet101

# Table 1: metric -> polarization -> method (names of sarxai_utils.explain.METHODS) -> value
SU_TABLE1: dict[str, dict[str, dict[str, float]]] = {
    "max_sensitivity": {
        "VH": {"integrated_gradients": 0.0742, "input_x_gradient": 0.1362, "guided_backprop": 0.0412,
               "deconvolution": 0.0766, "saliency": 0.1376, "occlusion": 0.0178, "guided_grad_cam": 0.1819,
               "grad_cam": 0.4528},
        "VV": {"integrated_gradients": 0.0952, "input_x_gradient": 0.1527, "guided_backprop": 0.0392,
               "deconvolution": 0.0754, "saliency": 0.1534, "occlusion": 0.0195, "guided_grad_cam": 0.1824,
               "grad_cam": 0.4942},
    },
    "xai_entropy_kb": {
        "VH": {"integrated_gradients": 28.663, "input_x_gradient": 29.123, "guided_backprop": 24.34,
               "deconvolution": 29.638, "saliency": 52.624, "occlusion": 4.305, "guided_grad_cam": 11.682,
               "grad_cam": 15.107},
        "VV": {"integrated_gradients": 30.841, "input_x_gradient": 29.812, "guided_backprop": 24.099,
               "deconvolution": 30.058, "saliency": 52.14, "occlusion": 4.191, "guided_grad_cam": 11.451,
               "grad_cam": 14.916},
    },
}
