"""Real photographs that ship inside installable wheels: what the model card is measured on.

No labelled photo set (fruit or otherwise) can be installed here, so the card reports the
model's top five on these few photos, each read from its wheel as installed (scikit-image's
``data`` folder, scikit-learn's sample images) by file location, without importing either
package. Runs on the machine that builds the model (the ``train`` extra installs both).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from caudal.errors import CaudalError


@dataclass(frozen=True)
class Photo:
    """A photo inside a wheel: distribution, path in it, what it shows, its licence."""

    dist: str
    path: str
    shows: str
    licence: str

    @property
    def name(self) -> str:
        return Path(self.path).name

    def source(self) -> str:
        return f"{self.dist} {metadata.version(self.dist)}: {self.path}"

    def read(self) -> bytes:
        """The photo's bytes; ``CaudalError`` saying what to install when it is not there."""
        try:
            located = Path(str(metadata.distribution(self.dist).locate_file(self.path)))
        except metadata.PackageNotFoundError:
            raise CaudalError(
                f"{self.dist} is not installed: the model card's photos ship in it",
                'pip install -e ".[train]"',
            ) from None
        if not located.is_file():
            raise CaudalError(f"{self.path} not found in the installed {self.dist}")
        return located.read_bytes()


SKIMAGE, SKLEARN = "scikit-image", "scikit-learn"
PHOTOS = [
    Photo(SKIMAGE, "skimage/data/astronaut.png", "astronaut Eileen Collins, portrait with a flag",
          "public domain (NASA)"),
    Photo(SKIMAGE, "skimage/data/camera.png", "a man behind a camera on a tripod, greyscale",
          "CC0 (Lav Varshney)"),
    Photo(SKIMAGE, "skimage/data/chelsea.png", "Chelsea, a tabby cat", "CC0 (Stefan van der Walt)"),
    Photo(SKIMAGE, "skimage/data/coffee.png", "a cup of coffee on a saucer",
          "CC0 (Rachel Michetti)"),
    Photo(SKIMAGE, "skimage/data/hubble_deep_field.jpg", "Hubble eXtreme Deep Field (galaxies)",
          "public domain (NASA)"),
    Photo(SKIMAGE, "skimage/data/motorcycle_left.png", "a motorcycle in a workshop",
          "Middlebury 2014 stereo benchmark"),
    Photo(SKIMAGE, "skimage/data/rocket.jpg", "Falcon 9 launching DSCOVR",
          "public domain (SpaceX)"),
    Photo(SKLEARN, "sklearn/datasets/images/china.jpg", "a Chinese temple roof and gate",
          "CC BY 2.0 (danielbuechele)"),
    Photo(SKLEARN, "sklearn/datasets/images/flower.jpg", "a pink flower, close up",
          "CC BY 2.0 (vultilion)"),
]  # fmt: skip
