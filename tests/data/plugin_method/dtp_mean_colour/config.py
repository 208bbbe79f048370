"""The method's parameters (`methods.mean_colour.params` in the config): light, no torch."""

from dataclasses import dataclass

from baselines.config import BaselineConfig, require


@dataclass(frozen=True)
class MeanColourConfig(BaselineConfig):
    blend: float = 0.5  # 0 = the content, 1 = the style's mean colour everywhere

    def __post_init__(self):
        require(0.0 <= self.blend <= 1.0, "blend", f"{self.blend} is not in [0, 1]", "use a value from 0 to 1")
