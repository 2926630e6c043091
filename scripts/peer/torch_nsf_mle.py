#!/usr/bin/env python3
"""PyTorch yardstick: a neural spline flow by maximum likelihood, the library's SplineCouplingFlow.

Not part of the library; `npm run bench -- --peer` runs it to compare speed. The same model and
step as src/flows/spline-coupling.ts, src/flows/spline.ts and src/train/mle.ts:

- K rational-quadratic spline coupling layers in D = 2 with alternating masks [1, 0], [0, 1], ...;
  layer k moves the unmasked coordinate through a spline with `bins` bins on [-B, B] (identity
  outside), whose 3·bins - 1 parameters come from one MLP 1 -> H -> H -> 3·bins - 1 (tanh hidden
  units, last layer zero at initialisation: equal bins, unit slopes, the identity);
- widths and heights w = w_min + (1 - K w_min) softmax(θ), knots their cumulative sums on [-B, B],
  interior slopes δ = δ_min + softplus(θ^d + log(e^{1-δ_min} - 1)), δ_0 = δ_K = 1;
- loss = -mean log q(x), log q(x) = log N(f⁻¹(x); 0, I) + log|det J_{f⁻¹}(x)|, through the inverse
  (last layer first, the closed-form root of each bin's quadratic); Adam (ε = 1e-7 as tfjs);
- data: data/penguins.csv bill_length_mm × bill_depth_mm, the CLI's --data rows.

Initial weights (Glorot-uniform from Rng(seed)) and minibatches (Rng(seed)) are the library's own
draws (nf_port.py), so first_losses can be compared with the library's first steps. Needs
Debian's PyTorch:

    /usr/bin/python3 scripts/peer/torch_nsf_mle.py --K 4 --hidden 32 --bins 8 --batch 128 --json out.json

The JSON holds time_per_iter_ms.{median,p10} over the --steps timed steps after --warmup steps,
first_losses (step 0 is the loss at the initial parameters) and final_loss.
"""
import argparse
import math

import torch
import torch.nn.functional as F

from nf_port import Rng, add_timing_args, check_args, mlp_parameters, time_mle

D = 2  # bill length × bill depth
BOUND = 3.0  # B, SplineOptions.bound's default
MIN_BIN = 1e-3  # minBinWidth = minBinHeight, the library's defaults
MIN_DERIVATIVE = 1e-3  # δ_min
SHIFT = math.log(math.expm1(1 - MIN_DERIVATIVE))  # softplus(SHIFT) = 1 - δ_min: θ = 0 gives δ = 1


def knots(theta):
    """x^(0..K) from unnormalised widths θ [N, K]: -B, -B + 2B Σ_{j<k} w_j, ..., B: [N, K + 1]."""
    K = theta.shape[-1]
    w = MIN_BIN + (1 - K * MIN_BIN) * torch.softmax(theta, -1)
    inner = -BOUND + 2 * BOUND * torch.cumsum(w, -1)[:, :-1]
    edge = torch.full_like(inner[:, :1], BOUND)
    return torch.cat([-edge, inner, edge], -1)


def spline_inverse(y, theta, K):
    """x = g⁻¹(y) and log|g⁻¹'(y)| per element; y: [N], θ: [N, 3K - 1]; identity outside [-B, B]."""
    xk, yk = knots(theta[:, :K]), knots(theta[:, K : 2 * K])
    one = torch.ones_like(theta[:, :1])
    delta = torch.cat([one, MIN_DERIVATIVE + F.softplus(theta[:, 2 * K :] + SHIFT), one], -1)
    inside = y.abs() <= BOUND
    yc = y.clamp(-BOUND, BOUND)
    k = (yc[:, None] >= yk[:, 1:K]).sum(-1, keepdim=True)  # bin: #{interior knots <= y}: [N, 1]
    pick = lambda t, o: t.gather(1, k + o)[:, 0]  # noqa: E731  t_{k+o}: [N]
    x_lo, x_hi, y_lo, y_hi = pick(xk, 0), pick(xk, 1), pick(yk, 0), pick(yk, 1)
    d_lo, d_hi = pick(delta, 0), pick(delta, 1)
    w, h = x_hi - x_lo, y_hi - y_lo
    s = h / w
    sum2 = d_hi + d_lo - 2 * s
    dy = yc - y_lo
    a = h * (s - d_lo) + dy * sum2
    b = h * d_lo - dy * sum2
    c = -s * dy
    root = torch.sqrt(torch.relu(b * b - 4 * a * c))
    pos = b >= 0  # the stable root, as flows/spline.ts stableRoot
    xi = torch.where(pos, 2 * c / torch.where(pos, -b - root, 1.0), (-b + root) / torch.where(pos, 1.0, 2 * a))
    x = x_lo + xi * w
    xi, om = (x - x_lo) / w, (x_hi - x) / w  # recomputed from x, as the library
    q = xi * om
    den = s + sum2 * q
    log_der = 2 * torch.log(s) + torch.log(d_hi * xi * xi + 2 * s * q + d_lo * om * om) - 2 * torch.log(den)
    return torch.where(inside, x, y), torch.where(inside, -log_der, torch.zeros_like(y))


class SplineCoupling(torch.nn.Module):
    """K spline coupling layers; inverse(y) -> f⁻¹(y) [N, D], log|det J_{f⁻¹}(y)| [N]."""

    def __init__(self, K, H, bins, seed):
        super().__init__()
        rng = Rng(seed)
        self.bins = bins
        self.kept = [0 if k % 2 == 0 else 1 for k in range(K)]  # masks [1, 0], [0, 1], ...
        mlp_parameters(self, rng, K, 1, H, 3 * bins - 1)  # w1 [1, H], ..., w3 [H, 3 bins - 1]

    def inverse(self, y):
        x, log_det = y, torch.zeros(y.shape[0])
        for k in reversed(range(len(self.kept))):
            i, j = self.kept[k], 1 - self.kept[k]
            h1 = torch.tanh(torch.addmm(self.b1[k], x[:, i : i + 1], self.w1[k]))  # [N, H]
            h2 = torch.tanh(torch.addmm(self.b2[k], h1, self.w2[k]))  # [N, H]
            theta = torch.addmm(self.b3[k], h2, self.w3[k])  # [N, 3K - 1]
            moved, ld = spline_inverse(x[:, j], theta, self.bins)
            x = torch.stack([x[:, 0], moved] if j == 1 else [moved, x[:, 1]], 1)
            log_det = log_det + ld
        return x, log_det


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--K", type=int, default=4, help="coupling layers")
    ap.add_argument("--hidden", type=int, default=32, help="hidden units H of each MLP")
    ap.add_argument("--bins", type=int, default=8, help="bins per spline")
    add_timing_args(ap)
    a = ap.parse_args()
    check_args(ap, a, ("K", "hidden", "batch", "steps", "threads"), [(a.bins >= 2, "bins >= 2")])

    time_mle(a, lambda: SplineCoupling(a.K, a.hidden, a.bins, a.seed))


if __name__ == "__main__":
    main()
