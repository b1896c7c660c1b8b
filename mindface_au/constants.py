"""Names shared by every part of the package: the AU sets of the data sets, normalisation, threshold grid.

An AU set is a tuple of names ``AU<number>`` in the order every array of a model uses. The
default is Aff-Wild2's 12 AUs (:data:`AU_NAMES`); :data:`AU_SETS` names the sets of the other
data sets and :func:`au_set` turns a recipe's ``data.aus`` (a preset name or a list) into one.
"""
import re
from typing import Sequence, Tuple, Union

AU_NAMES = ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26")
NUM_AUS = len(AU_NAMES)
RARE_AUS = ("AU2", "AU15", "AU23", "AU24", "AU26")
ABAW_HEADER = ",".join(AU_NAMES)


def _names(*numbers: int) -> Tuple[str, ...]:
    return tuple(f"AU{n}" for n in numbers)


#: preset name -> AU set. BP4D: the field's 12 occurrence AUs; DISFA: the field's 8 occurrence AUs
#: (disfa8) and all 12 coded AUs (disfa12, intensity 0-5).
AU_SETS = {
    "affwild2": AU_NAMES,
    "bp4d": _names(1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24),
    "disfa8": _names(1, 2, 4, 6, 9, 12, 25, 26),
    "disfa12": _names(1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26),
}
#: data.format -> the AU set of a recipe that names none (``data.aus``)
FORMAT_AUS = {"abaw": "affwild2", "list": "affwild2", "bp4d": "bp4d", "disfa": "disfa8"}
#: ME-GraphAU's list files: the data set their names start with -> its AU set
LIST_PREFIX_AUS = {"BP4D": "bp4d", "DISFA": "disfa8"}
_AU_NAME = re.compile(r"^AU0*([1-9][0-9]?)$", re.IGNORECASE)


def au_set(spec: Union[str, Sequence]) -> Tuple[str, ...]:
    """``'bp4d'`` (a preset of :data:`AU_SETS`) or a list (``['AU1', 'au02', 14]``) -> ``('AU1', 'AU2', 'AU14')``.

    Raises ``ValueError`` for an unknown preset, a name that is not ``AU<number>`` or a repeated AU.
    """
    if isinstance(spec, str):
        if spec in AU_SETS:
            return AU_SETS[spec]
        raise ValueError(f"unknown AU set {spec!r}; presets: {', '.join(AU_SETS)}, or a list of AU names")
    names = []
    for item in spec:
        match = _AU_NAME.match(str(item) if not isinstance(item, int) else f"AU{item}")
        if not match:
            raise ValueError(f"{item!r} is not an AU name (AU<number>, e.g. AU12)")
        names.append(f"AU{int(match.group(1))}")
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"an AU set needs distinct AUs, got {list(spec)!r}")
    return tuple(names)


IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
ARCFACE_MEAN = (127.5, 127.5, 127.5)
ARCFACE_STD = (127.5, 127.5, 127.5)

# Default per-AU threshold grid searched on validation (0.05 ... 0.90, step 0.05).
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 19))
