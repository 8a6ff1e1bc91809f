"""keras.utils.image_dataset_from_directory over PNG files the program writes itself (with
utils.save_img and utils.array_to_img) into one folder per class: inferred labels and sorted
class names, a train/validation split, resizing, grayscale and binary labels; the image files
round-trip through load_img/img_to_array; a small CNN is fit on the resulting datasets."""
ISSUE = 14
KERAS_CANNOT = "image_dataset_from_directory returns a tf.data.Dataset (format='tf', needs TensorFlow) or a Grain dataset (format='grain', needs the grain package)"
import pathlib
import tempfile

import numpy as np

import keras
from keras import layers


def write_images(root, rng, per_class=24):
    """16x16 RGB stripes, horizontal or vertical, as PNGs in root/<class>/; returns one written array."""
    for label, name in enumerate(["vertical", "horizontal"]):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            img = rng.integers(0, 60, size=(16, 16, 3)).astype("uint8")
            stripe = int(rng.integers(2, 14))
            if label == 0:
                img[:, stripe - 1:stripe + 1] = 230
            else:
                img[stripe - 1:stripe + 1, :] = 230
            if i % 2:
                keras.utils.save_img(folder / f"img_{i:02d}.png", img, scale=False)
            else:
                keras.utils.array_to_img(img, scale=False).save(folder / f"img_{i:02d}.png")
    return img


def summary(dataset):
    images, labels = zip(*[(np.asarray(x), np.asarray(y)) for x, y in dataset])
    images, labels = np.concatenate(images), np.concatenate(labels)
    return images, labels


def run():
    keras.utils.set_random_seed(79)
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp) / "stripes"
        last = write_images(root, np.random.default_rng(61))
        loaded = keras.utils.img_to_array(keras.utils.load_img(root / "horizontal" / "img_23.png"))
        train, val = keras.utils.image_dataset_from_directory(
            root, image_size=(12, 12), batch_size=8, validation_split=0.25, subset="both", seed=5)
        gray = keras.utils.image_dataset_from_directory(root, image_size=(16, 16), batch_size=48,
                                                        color_mode="grayscale", label_mode="binary", shuffle=False)
        train_x, train_y = summary(train)
        gray_x, gray_y = summary(gray)
        val_count = len(summary(val)[1])
        class_names = list(train.class_names)
        model = keras.Sequential([keras.Input((12, 12, 3)), layers.Rescaling(1.0 / 255),
                                  layers.Conv2D(8, 3, activation="relu"), layers.GlobalMaxPooling2D(),
                                  layers.Dense(2, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
        hist = model.fit(train, validation_data=val, epochs=4, verbose=0)
    return {"shapes": {"train_x": train_x.shape, "gray_x": gray_x.shape, "gray_y": gray_y.shape},
            "losses": {"train": hist.history["loss"]},
            "class_names": class_names, "counts": [len(train_y), val_count],
            "image_dtype": str(train_x.dtype), "label_dtype": str(train_y.dtype),
            "pixel_range_ok": bool(train_x.min() >= 0.0 and train_x.max() <= 255.0 and train_x.max() > 200.0),
            "binary_labels_in_order": gray_y[:, 0].tolist() == [0.0] * 24 + [1.0] * 24,
            "png_round_trip": bool(np.array_equal(loaded, last.astype("float32")))}
CHECKS = {"expected": {"class_names": ["horizontal", "vertical"], "counts": [36, 12], "image_dtype": "float32", "label_dtype": "int32", "pixel_range_ok": True, "binary_labels_in_order": True, "png_round_trip": True}}
