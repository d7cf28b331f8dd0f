from facegan.devices import cpu_has_bf16, precision_policy


def test_auto_precision_uses_mixed_only_on_native_hardware():
    assert precision_policy("auto", kind="cpu", bf16_cpu=False) == "float32"
    assert precision_policy("auto", kind="cpu", bf16_cpu=True) == "mixed_bfloat16"
    assert precision_policy("auto", kind="gpu", fast_fp16_gpu=True) == "mixed_float16"
    assert precision_policy("auto", kind="gpu", fast_fp16_gpu=False) == "float32"


def test_explicit_precision_settings():
    assert precision_policy(True, kind="gpu") == "mixed_float16"
    assert precision_policy(True, kind="cpu") == "mixed_bfloat16"
    assert precision_policy(False, kind="gpu") == "float32"


def test_bf16_flags_are_read_from_cpuinfo():
    assert cpu_has_bf16("flags : fpu avx2 fma avx512f avx512_bf16")
    assert cpu_has_bf16("flags : fpu amx_bf16 amx_tile")
    assert not cpu_has_bf16("flags : fpu avx2 fma")


def test_cuda_visible_devices_is_read_as_cuda_reads_it():
    from facegan.gpuinfo import visible_devices

    def read(value):
        return visible_devices({"CUDA_VISIBLE_DEVICES": value})

    assert visible_devices({}) is None
    assert read("0,1") == ["0", "1"] and read("GPU-8f2a,MIG-1c") == ["GPU-8f2a", "MIG-1c"]
    # SGE's value on nodes without GPUs, hidden devices, and entries after the first invalid one
    assert read("NoDevFiles") == [] and read("-1") == [] and read("") == [] and read("1,-1,0") == ["1"]


def test_a_value_naming_no_device_expects_no_gpu(monkeypatch):
    import facegan.gpuinfo as gpuinfo

    monkeypatch.setattr(gpuinfo, "nvidia_smi_gpus", lambda: [])
    assert gpuinfo.expected_gpus({"CUDA_VISIBLE_DEVICES": "NoDevFiles"}) == ""
    assert "assigns GPU(s)" in gpuinfo.expected_gpus({"CUDA_VISIBLE_DEVICES": "0"})
