"""The fixed twin of contract_head: the "dense" head flattens the feature map first."""

import keras
from keras import layers

from shapeguard import guard


@guard(fit={"x": "N,image_size,image_size,3", "y": "N"}, head=["pool", "flatten", "dense"], image_size=[32, 64])
def build_model(image_size=32, classes=10, head="pool"):
    inputs = keras.Input((image_size, image_size, 3))
    x = layers.Conv2D(16, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    if head == "pool":
        x = layers.GlobalAveragePooling2D()(x)
    elif head == "flatten":
        x = layers.Flatten()(x)
    else:
        x = layers.Flatten()(x)
        x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
