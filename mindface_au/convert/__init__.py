"""PyTorch weights -> MindSpore: insightface IResNet backbones and the authors' AU checkpoints.

Typical use (the CLI is ``tools/convert_weights.py``)::

    from mindface_au.convert import save_converted
    from mindface_au.factory import build_model, convert_file
    from mindface_au.weights import load_backbone_init

    params, report, meta = convert_file("glint360k_r100.pth", kind="insightface", arch="r100")
    print(report)                          # table of mapped / ignored / unused / missing keys
    save_converted(params, "iresnet100_glint360k.ckpt", meta)

    net = build_model(cfg)                 # cfg["model"]["backbone_init"] = that file
    print(load_backbone_init(net, cfg["model"]["backbone_init"]))

Reading never runs pickled code (:mod:`.pth_reader`); every key must be placed and every
shape must fit, else :class:`ConversionError` lists the offending keys by name
(``num_batches_tracked`` is ignored by name). Modules: :mod:`.mapping` (the key maps),
:mod:`.state_dict` (the engine), :mod:`.files` (``--arch`` names, save),
:mod:`.report`, :mod:`.pth_reader` / :mod:`.pth_writer` (no PyTorch needed), :mod:`.zoo`.

Outputs:

* ``insightface``: the bare IResNet's parameters (``conv1.weight``, ...), loadable into
  ``create_model('iresnet100')`` or, through :func:`mindface_au.weights.load_backbone_init`, into an AU net.
* ``authors``: the whole :class:`~mindface_au.models.AUNet` (``backbone.*``, ``lrp.*``,
  ``arl.*``, ``fusion.*``, ...), with the resolved config saved in the checkpoint's meta.
"""
from __future__ import annotations

from .files import ARCH_ALIASES, resolve_arch, save_converted
from .mapping import KINDS
from .pth_reader import PthError, UnsafePickleError, read_state_dict
from .pth_writer import write_pth
from .report import ConversionError, ConversionReport, MappedKey
from .state_dict import convert_state_dict, export_torch, to_torch_state_dict
from .zoo import rename_to_zoo, sha256_file, verify_zoo_file, zoo_filename


__all__ = ["convert_state_dict", "save_converted", "to_torch_state_dict",
           "export_torch", "read_state_dict", "write_pth", "resolve_arch", "zoo_filename", "rename_to_zoo",
           "verify_zoo_file", "sha256_file", "ConversionReport", "ConversionError", "MappedKey", "PthError",
           "UnsafePickleError", "KINDS", "ARCH_ALIASES"]
