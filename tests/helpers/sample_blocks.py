"""Block files that tests write into a temporary folder (shared by the
command-line tests and the bad-input table)."""

# Imports no Keras at import time, so a run that stops before probing is fast.
LAZY_BLOCKS = '''
    """Imports no Keras at import time."""
    from shapeguard import guard


    @guard(C=[8, 16], filters=[8, 16], H=[4], inputs={"x": "H,H,C"})
    def block(x, filters=8, strides=1):
        import keras

        return keras.layers.Conv2D(filters, 1, strides=strides)(x)


    LIMIT = 3


    class NeedsWidth:
        def __init__(self, width):
            self.width = width

        def block(self, x, filters=8):
            return x
'''
