"""Importing facegan changes nothing outside it; functions that need a global setting restore it."""

import json


def test_importing_every_module_changes_no_environment_or_global_state(python):
    code = """
import importlib, json, os, pkgutil, sys
import PIL.Image, keras, matplotlib, tensorflow  # third-party imports may set variables of their own
env, pixels = dict(os.environ), PIL.Image.MAX_IMAGE_PIXELS
import facegan
names = sorted(m.name for m in pkgutil.walk_packages(facegan.__path__, "facegan.") if m.name != "facegan.cli")
for name in names:
    importlib.import_module(name)
import keras
print(json.dumps({"env": dict(os.environ) == env, "pixels": PIL.Image.MAX_IMAGE_PIXELS == pixels,
                  "policy": keras.config.dtype_policy().name, "modules": len(names)}))
"""
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("TF_")}
    out = json.loads(python(["-c", code], env=env).stdout.strip().splitlines()[-1])
    assert out == {"env": True, "pixels": True, "policy": "float32", "modules": out["modules"]}
    assert out["modules"] > 20


def test_saving_models_restores_the_callers_precision_policy(tmp_path):
    import keras

    from facegan.models import build_models
    from facegan.options import ModelOptions
    from facegan.runtime import dtype_policy
    from facegan.train_outputs import TrainOutputs
    from facegan.training import save_models

    with dtype_policy("mixed_bfloat16"):
        g, d = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
        outs = TrainOutputs.in_folder(tmp_path)
        save_models(ModelOptions("dcgan", 8, 4, 32), g, d, outputs=outs)
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    assert {w.dtype for w in keras.models.load_model(outs.generator).weights} == {"float32"}
