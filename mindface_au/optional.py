"""Optional packages: import one, or fail with the command that installs it; say a fallback once.

The package's core needs MindSpore, numpy, OpenCV and the requirements; inference, fast CPU
runtimes and clusters need extras (``pip install -e .[infer|openvino|onnx|cluster]``). Every
import of an optional package goes through :func:`require`, so a missing one always names its
install command.
"""
from __future__ import annotations

import importlib
import warnings

#: module -> how to install it (the project's extra first)
INSTALL = {"openvino": "pip install -e .[openvino]   (or: pip install openvino)",
           "nncf": "pip install -e .[openvino]   (or: pip install nncf)",
           "onnx": "pip install -e .[onnx]   (or: pip install onnx)",
           "onnxruntime": "pip install -e .[onnx]   (or: pip install onnxruntime)",
           "yuface": "pip install -e .[infer]   (or: pip install yuface)",
           "ray": "pip install -e .[cluster]   (or: pip install ray)",
           "mindspore": "pip install mindspore (see mindspore.cn/install)"}

_said = set()


def install_command(module: str) -> str:
    """How to install ``module`` (its top-level package)."""
    top = module.split(".")[0]
    return INSTALL.get(top, f"pip install {top}")


def require(module: str, what: str, alternative: str = ""):
    """Import ``module`` or raise an ImportError naming ``what`` needs it, its install command and an
    ``alternative`` (e.g. another detector) when there is one."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{what} needs the optional package '{module.split('.')[0]}', which is not installed: "
                          f"{install_command(module)}{'; ' + alternative if alternative else ''}") from exc


def note_once(message: str) -> None:
    """Warn ``message`` once per process (a runtime fallback the user should know about, said once)."""
    if message not in _said:
        _said.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
