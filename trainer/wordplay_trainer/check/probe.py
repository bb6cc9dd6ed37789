"""What this interpreter can train with, as one JSON-ready dict (the `probe` command prints it;
`wordplay doctor` and the extension read it).

Imports torch inside a try, so it answers (with the problem and its fix) when PyTorch is
missing too: nothing here, nor in what imports it, may import torch at the top.
"""

import os
import platform
import sys


def probe() -> dict:
    report: dict = {
        "python": {"path": sys.executable, "version": platform.python_version()},
        "torch": None,
        "device": "cpu",
        "devices": {"cpu_threads": os.cpu_count(), "cuda": [], "mps": False},
        "problems": [],
    }
    try:
        import torch
    except ImportError:
        report["problems"].append(
            {"problem": "PyTorch is not installed in this Python.", "fix": "Run `wordplay setup`."}
        )
        return report
    report["torch"] = {
        "version": torch.__version__,
        "cuda_build": torch.version.cuda,
        "threads": torch.get_num_threads(),
    }
    report["devices"]["cpu_threads"] = torch.get_num_threads()
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            report["devices"]["cuda"].append(
                {"index": i, "name": props.name, "memory_gb": round(props.total_memory / 2**30, 1)}
            )
        report["device"] = "cuda"
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        report["devices"]["mps"] = True
        report["device"] = "mps"
    for module in ("numpy", "safetensors", "onnx", "transformers", "jsonschema", "rustbpe", "tokenizers"):
        try:
            __import__(module)
        except ImportError:
            report["problems"].append(
                {"problem": f"The Python package {module} is missing.", "fix": "Run `wordplay setup`."}
            )
    return report
