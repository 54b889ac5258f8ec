"""Plain Python helpers: no Keras here."""


def make_divisible(value, divisor=8, min_value=None):
    """Round ``value`` to the nearest multiple of ``divisor`` (not below
    ``min_value``, nor more than 10% below ``value``), as MobileNet does for
    channel counts."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def stage_widths(base=32, stages=4, width_multiplier=1.0):
    """Channel counts of a network's stages, doubling at each stage."""
    return [make_divisible(base * width_multiplier * 2**i) for i in range(stages)]
