#!/usr/bin/env python3
"""PyTorch yardstick: RealNVP by maximum likelihood, the library's CouplingFlow + trainMaxLikelihood.

Not part of the library; `npm run bench -- --peer` runs it to compare speed. The same model and
step as src/flows/coupling.ts and src/train/mle.ts:

- K affine coupling layers in D = 2 with alternating masks [1, 0], [0, 1], ...; layer k moves the
  unmasked coordinate by a scale and shift from one MLP D -> H -> H -> 2D (tanh hidden units),
  log-scale bounded as s = c·tanh(raw/c) (c = 2), last layer zero at initialisation (identity);
- loss = -mean log q(x) over a minibatch drawn with replacement, log q(x) = log N(f⁻¹(x); 0, I)
  + log|det J_{f⁻¹}(x)|, through the inverse (last layer first); Adam (ε = 1e-7 as tfjs);
- data: data/penguins.csv bill_length_mm × bill_depth_mm, the CLI's --data rows (75% training
  split with the seed, standardised with the training statistics: scripts/train.ts).

Initial weights (Glorot-uniform from Rng(seed)) and minibatches (Rng(seed)) are the library's own
draws (nf_port.py), so first_losses in the JSON can be compared with the library's first steps.
Needs Debian's PyTorch:

    apt-get install -y python3-torch
    /usr/bin/python3 scripts/peer/torch_coupling_mle.py --K 4 --hidden 32 --batch 128 --json out.json

The JSON holds time_per_iter_ms.{median,p10} over the --steps timed steps after --warmup steps,
first_losses (step 0 is the loss at the initial parameters) and final_loss.
"""
import argparse

import torch

from nf_port import Rng, add_timing_args, check_args, mlp_parameters, time_mle

D = 2  # bill length × bill depth
SCALE_FACTOR = 2.0  # c: s = c·tanh(raw/c) ∈ (-c, c), CouplingOptions.scaleFactor's default


class Coupling(torch.nn.Module):
    """K affine coupling layers; inverse(y) -> f⁻¹(y) [N, D], log|det J_{f⁻¹}(y)| [N]."""

    def __init__(self, K, H, seed):
        super().__init__()
        rng = Rng(seed)
        first = torch.tensor([1.0, 0.0])  # 1 = kept (conditioned on)
        masks = torch.stack([first if k % 2 == 0 else 1 - first for k in range(K)])  # [K, D]
        self.register_buffer("mask", masks)
        mlp_parameters(self, rng, K, D, H, 2 * D)  # w1 [D, H], ..., w3 [H, 2D]

    def scale_shift(self, k, x):
        """s, t of layer k from the kept coordinates: each [N, D], zero where kept."""
        m = self.mask[k]
        h1 = torch.tanh(torch.addmm(self.b1[k], x * m, self.w1[k]))  # [N, H]
        h2 = torch.tanh(torch.addmm(self.b2[k], h1, self.w2[k]))  # [N, H]
        out = torch.addmm(self.b3[k], h2, self.w3[k])  # [N, 2D]
        s = SCALE_FACTOR * torch.tanh(out[:, :D] / SCALE_FACTOR) * (1 - m)
        return s, out[:, D:] * (1 - m)

    def inverse(self, y):
        x, log_det = y, torch.zeros(y.shape[0])
        for k in reversed(range(self.mask.shape[0])):
            s, t = self.scale_shift(k, x)
            x = (x - t) * torch.exp(-s)
            log_det = log_det - s.sum(1)
        return x, log_det


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--K", type=int, default=4, help="coupling layers")
    ap.add_argument("--hidden", type=int, default=32, help="hidden units H of each MLP")
    add_timing_args(ap)
    a = ap.parse_args()
    check_args(ap, a, ("K", "hidden", "batch", "steps", "threads"))

    time_mle(a, lambda: Coupling(a.K, a.hidden, a.seed))


if __name__ == "__main__":
    main()
