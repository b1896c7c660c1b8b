from setuptools import find_packages, setup

with open("requirements.txt") as f:
    requirements = [line.strip() for line in f if line.strip() and not line.startswith("#")]

setup(
    name="mindface_au",
    version="0.1.0",
    description="Facial Action Unit detection (LRP + ARL + feature fusion, ABAW5) in MindSpore",
    packages=find_packages(include=["mindface_au", "mindface_au.*"]),
    python_requires=">=3.9",
    install_requires=requirements,
    entry_points={"console_scripts": ["mindface-au=mindface_au.commands:main"]},
    extras_require={
        "onnx": ["onnx", "onnxruntime"],
        "infer": ["yuface", "tqdm", "matplotlib"],
        "torch": ["torch"],
        "test": ["pytest", "onnx", "onnxruntime", "yuface"],
    },
)
