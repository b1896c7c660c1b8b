"""Names shared by every part of the package: the 12 Aff-Wild2 AUs, in the order every array uses."""

AU_NAMES = ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26")
NUM_AUS = len(AU_NAMES)
RARE_AUS = ("AU2", "AU15", "AU23", "AU24", "AU26")
ABAW_HEADER = ",".join(AU_NAMES)

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
ARCFACE_MEAN = (127.5, 127.5, 127.5)
ARCFACE_STD = (127.5, 127.5, 127.5)

# Default per-AU threshold grid searched on validation (0.05 ... 0.90, step 0.05).
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 19))
