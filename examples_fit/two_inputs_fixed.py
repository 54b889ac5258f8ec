"""A two-input model fed a dict: the 'meta' table has 8 columns, as its Input."""

import keras


def build_model():
    image = keras.Input((32, 32, 3), name="image")
    meta = keras.Input((8,), name="meta")
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3)(image))
    joined = keras.layers.Concatenate()([features, keras.layers.Dense(8)(meta)])
    model = keras.Model({"image": image, "meta": meta}, keras.layers.Dense(1, activation="sigmoid")(joined))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


FIT = {"x": {"image": (1000, 32, 32, 3), "meta": (1000, 8)}, "y": (1000,)}
