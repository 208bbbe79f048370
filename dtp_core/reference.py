"""A plain reference path for one DTP iteration, written the way the authors' code computes it.

Not the method's code path (that is `dtp_core.trainer`): the authors' structure, kept for
comparison only, as the yardstick for the fast path in `dtp_core.trainer.forward` (tests/
test_dtp_trainer.py) and for timing against it (benchmarks/speed.py --reference). Separate encoder
passes for content and style, each warp recomputing its own softmax, whole maps unfolded before the
patches are picked, three separate decoder calls. Same maths, none of the speed-ups. It lives in the
package, not in tests/, so that benchmarks import no test code.

The style loss's nearest neighbour is an argmax, which two kernels that round differently may
settle otherwise at a near-tie: `reference_forward` can be handed another path's choices (`nearest`)
and then reports how far below its own best each of them was (`nearest_gaps`).
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import torch
import torch.nn.functional as F

EPS = sys.float_info.epsilon


def center_l2(x, dim):
    x = x - x.mean(dim=dim, keepdim=True)
    return x / (torch.norm(x, p=2, dim=dim, keepdim=True) + EPS)


def correlation(source, target, limit, kernel=3):
    b, d, h, w = source.shape
    if h > limit:
        h = w = limit
        source = F.interpolate(source, (h, w), mode="bilinear")
        target = F.interpolate(target, (h, w), mode="bilinear")
    s = center_l2(F.unfold(source, kernel_size=kernel, padding=kernel // 2), dim=1).view(b, -1, h * w)
    t = center_l2(F.unfold(target, kernel_size=kernel, padding=kernel // 2), dim=1).view(b, -1, h * w)
    return torch.bmm(s.permute(0, 2, 1), t)


def warp(target, corr, temperature, limit):
    b, d, h, w = target.shape
    if h > limit:
        h = w = limit
        target = F.interpolate(target, (h, w), mode="bilinear")
    soft = F.softmax(corr / temperature, dim=-1)
    return torch.bmm(soft, target.view(b, d, h * w).permute(0, 2, 1)).permute(0, 2, 1).reshape(b, d, h, w)


def sample(content, output, ids, kernel=None):
    b, d, h, w = content.shape
    if kernel is None:
        c = content.view(b, d, h * w).permute(0, 2, 1).flatten(0, 1)
        o = output.view(b, d, h * w).permute(0, 2, 1).flatten(0, 1)
    else:
        c = F.unfold(content, kernel_size=kernel, padding=kernel // 2).view(b, -1, h * w).permute(0, 2, 1).flatten(0, 1)
        o = F.unfold(output, kernel_size=kernel, padding=kernel // 2).view(b, -1, h * w).permute(0, 2, 1).flatten(0, 1)
    return c[ids], o[ids]


def nce(content, output, temperature, diagonal):
    content, output = center_l2(content, -1), center_l2(output, -1)
    positive = (content * output).sum(dim=-1)[:, None]
    negatives = torch.mm(output, content.t())
    negatives = negatives.masked_fill(torch.eye(content.shape[0], dtype=torch.bool), diagonal)
    logits = torch.cat((positive, negatives), dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(content.shape[0], dtype=torch.long))


def wta(style, output, nearest=None):
    """(loss, gap): `gap` is how much lower, per patch, the cosine of the `nearest` given is than
    that of this path's own argmax (zero where they agree; no gap when none is given)."""
    style, output = center_l2(style, 1), center_l2(output, 1)
    similarity = torch.mm(output, style.t())
    _, argmax = F.softmax(similarity / 0.05, dim=-1).max(dim=-1)
    gap = None
    if nearest is not None:
        rows = torch.arange(similarity.shape[0])
        gap = (similarity[rows, argmax] - similarity[rows, nearest]).detach()
        argmax = nearest
    return (1 - (output * style[argmax]).sum(dim=1)).mean(), gap


def plain_decode(decoder, x):
    """The decoder's blocks as the authors run them (upsample, then convolve), with its parameters."""
    for block in decoder:
        if block.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        y = block.conv(x)
        if block.norm is not None:
            y = F.relu(block.norm(y))
        x = y + (x if block.skip is None else block.skip(x))
    return x


class ReferenceStep(NamedTuple):
    total: torch.Tensor
    terms: list[float]              # total, content, style, cycle
    output: torch.Tensor
    output_feature: torch.Tensor    # level 3, detached
    nearest_gaps: list[torch.Tensor] | None  # per style level, when `nearest` was given


def reference_forward(nets, content, style, cfg, previous, nearest=None) -> ReferenceStep:
    """One iteration. `nearest`: the style loss's nearest-patch indices, one tensor per level, to
    use instead of this path's own argmax."""
    c_feats = nets.encoder(content, levels=5)
    s_feats = nets.encoder(style, levels=5)
    f_c = c_feats[2]
    if cfg.use_fma and previous is not None:
        f_c = (1 - cfg.fma_weight) * f_c + cfg.fma_weight * previous
    corr = correlation(f_c, s_feats[2], cfg.corr_size)
    grid = min(f_c.shape[-1], cfg.corr_size)
    down_c, down_s = F.adaptive_avg_pool2d(content, grid), F.adaptive_avg_pool2d(style, grid)
    t, lim = cfg.tau_corr, cfg.corr_size
    corr_t = corr.permute(0, 2, 1).contiguous()
    s2c_f, s2c_i = warp(s_feats[2], corr, t, lim), warp(down_s, corr, t, lim)
    c2s_f, c2s_i = warp(f_c, corr_t, t, lim), warp(down_c, corr_t, t, lim)
    s2c2s_f, s2c2s_i = warp(s2c_f, corr_t, t, lim), warp(s2c_i, corr_t, t, lim)
    c2s2c_f, c2s2c_i = warp(c2s_f, corr, t, lim), warp(c2s_i, corr, t, lim)
    size = content.shape[-2:]

    def generate(feature, image):
        return plain_decode(nets.decoder, feature) * cfg.lambda_w + F.interpolate(image, size, mode="bilinear") * (1 - cfg.lambda_w)

    output = generate(s2c_f, s2c_i)
    s2c2s, c2s2c = generate(s2c2s_f, s2c2s_i), generate(c2s2c_f, c2s2c_i)
    o_feats = nets.encoder(output, levels=5)
    cycle = (F.mse_loss(s2c2s, style) + F.mse_loss(c2s2c, content)) * cfg.lambda_cyc
    ids = [torch.randperm(f.shape[-2] * f.shape[-1], generator=nets.positions)[: cfg.num_patches] for f in o_feats]
    content_loss = sum(cfg.content_weights[i] * nce(*sample(c_feats[i], o_feats[i], ids[i]), cfg.tau_nce, cfg.nce_diagonal)
                       for i in range(3))
    style_loss, gaps = 0.0, []
    for i in range(5):
        kernel = 3 if i < 4 else None
        loss, gap = wta(*sample(s_feats[i], o_feats[i], ids[i], kernel), None if nearest is None else nearest[i])
        style_loss = style_loss + cfg.style_weights[i] * loss
        gaps.append(gap)
    total = cfg.lambda_c * content_loss + (1 - cfg.lambda_c) * style_loss + cycle
    terms = [total.item(), content_loss.item(), style_loss.item(), (cycle / cfg.lambda_cyc).item()]
    return ReferenceStep(total, terms, output, o_feats[2].detach(), None if nearest is None else gaps)
