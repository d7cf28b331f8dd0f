from facegan.devices import cpu_has_bf16, precision_policy


def test_auto_precision_uses_mixed_only_on_native_hardware():
    assert precision_policy("auto", "cpu", bf16_cpu=False) == "float32"
    assert precision_policy("auto", "cpu", bf16_cpu=True) == "mixed_bfloat16"
    assert precision_policy("auto", "gpu", fast_fp16_gpu=True) == "mixed_float16"
    assert precision_policy("auto", "gpu", fast_fp16_gpu=False) == "float32"


def test_explicit_precision_settings():
    assert precision_policy(True, "gpu") == "mixed_float16"
    assert precision_policy(True, "cpu") == "mixed_bfloat16"
    assert precision_policy(False, "gpu") == "float32"


def test_bf16_flags_are_read_from_cpuinfo():
    assert cpu_has_bf16("flags : fpu avx2 fma avx512f avx512_bf16")
    assert cpu_has_bf16("flags : fpu amx_bf16 amx_tile")
    assert not cpu_has_bf16("flags : fpu avx2 fma")
