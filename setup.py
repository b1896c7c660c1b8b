"""``pip install -e .`` installs the package and the ``mindface-au`` command; extras add optional backends.

    pip install -e .            # training, evaluation, export to MindIR
    pip install -e .[infer]     # + face detection (yuface) and ONNX export / inference: what infer needs
    pip install -e .[openvino]  # + the OpenVINO backend and its int8 quantisation (nncf)
    pip install -e .[cluster]   # + Ray: infer / prepare-videos over a corpus with --ray
    pip install -e .[test]      # + pytest and what the tests exercise
"""
from setuptools import find_packages, setup

with open("requirements.txt") as f:
    requirements = [line.strip() for line in f if line.strip() and not line.startswith("#")]

INFER = ["yuface", "onnxruntime", "onnx", "tqdm", "matplotlib", "pandas"]
OPENVINO = ["openvino", "nncf"]

setup(
    name="mindface_au",
    version="0.1.0",
    description="Facial Action Unit detection (LRP + ARL + feature fusion, ABAW5) in MindSpore",
    packages=find_packages(include=["mindface_au", "mindface_au.*"]),
    python_requires=">=3.9",
    install_requires=requirements,
    entry_points={"console_scripts": ["mindface-au=mindface_au.commands:main"]},
    extras_require={
        "infer": INFER,
        "onnx": ["onnx", "onnxruntime"],
        "openvino": OPENVINO,
        "cluster": ["ray"],
        "torch": ["torch"],
        "test": ["pytest", "pytest-xdist", "import-linter"] + INFER,
        "all": INFER + OPENVINO,
    },
)
