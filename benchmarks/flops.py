"""Floating-point operations of the models and of one GAN training step, counted from layer shapes.

Convolutions, transposed convolutions and dense layers only (BatchNorm and activations are a few %).
A multiply-add counts as 2 FLOPs. For the step of :class:`facegan.gan.GAN` (one G forward, D on the
real and the fake batch, both tapes' gradients) the cost per image is

    3 G_f  (G forward, then weight and activation gradients)
  + 7 D_f  (2 forwards; 2x weight + activation gradients for D's loss; activation gradients
            through D on the fake path for G's loss)

which gives 2.08 GFLOP for the canonical 64x64 DCGAN, the figure used to compute achieved GFLOP/s.
"""

from __future__ import annotations

import math


def forward_flops(model) -> int:
    """FLOPs of one forward pass for one image (batch size 1)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            _, h, w, cin = layer.input.shape
            kh, kw = layer.kernel_size
            total += 2 * h * w * kh * kw * cin * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, cout = layer.output.shape
            kh, kw = layer.kernel_size
            total += 2 * h * w * kh * kw * layer.input.shape[-1] * cout
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * math.prod(layer.input.shape[1:]) * layer.units
    return int(total)


def gan_step_flops_per_image(generator, discriminator) -> int:
    return 3 * forward_flops(generator) + 7 * forward_flops(discriminator)
