"""Identity: the content unchanged, recorded like any output."""

import torch

from baselines import identity


def test_identity_returns_the_content():
    content, style = torch.rand(1, 3, 20, 30), torch.rand(1, 3, 40, 40)
    result = identity.stylize(content, style)
    assert torch.equal(result.image, content) and result.image is not content
    facts = result.facts
    assert facts["method"] == "identity" and facts["parameters"] == {} and facts["backbone"] is None
    assert facts["input_shape"] == [1, 3, 20, 30] and facts["style_shape"] == [1, 3, 40, 40]
