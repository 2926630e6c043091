#!/usr/bin/env python3
"""PyTorch yardstick: MAF by maximum likelihood, the library's MaskedAutoregressiveFlow + trainMaxLikelihood.

Not part of the library; `npm run bench -- --peer` runs it to compare speed. The same model and
step as src/flows/maf.ts, src/flows/made.ts and src/train/mle.ts:

- K affine autoregressive layers in D = 2, the variable order reversed between layers (layer k
  reads [0, 1] for even k, [1, 0] for odd k); each layer's MADE D -> H -> H -> 2D (tanh hidden
  units) has degree masks: input d gets its position in the order plus one, hidden unit j gets
  1 + (j mod (D - 1)), hidden <- input/hidden kept when m(to) >= m(from), output <- hidden kept
  when m(out) > m(hidden); outputs [μ | raw], log-scale α = c·tanh(raw/c) (c = 2); last layer
  zero at initialisation (identity);
- data -> base per layer (last layer first): u = (v - μ(v)) e^{-α(v)}, log|det| -= Σ α;
  loss = -mean log q(x) over a minibatch drawn with replacement, log q(x) = log N(f⁻¹(x); 0, I)
  + log|det J_{f⁻¹}(x)|; Adam (ε = 1e-7 as tfjs);
- data: data/penguins.csv bill_length_mm × bill_depth_mm, the CLI's --data rows.

Initial weights (Glorot-uniform from Rng(seed), w1 then w2 of each layer) and minibatches
(Rng(seed)) are the library's own draws (nf_port.py), so first_losses in the JSON can be compared
with the library's first steps. Needs Debian's PyTorch:

    /usr/bin/python3 scripts/peer/torch_maf_mle.py --K 4 --hidden 32 --batch 128 --json out.json

The JSON holds time_per_iter_ms.{median,p10} over the --steps timed steps after --warmup steps,
first_losses (step 0 is the loss at the initial parameters) and final_loss.
"""
import argparse

import torch

from nf_port import Rng, add_timing_args, check_args, mlp_parameters, time_mle

D = 2  # bill length × bill depth
SCALE_FACTOR = 2.0  # c: α = c·tanh(raw/c) ∈ (-c, c), MadeOptions.scaleFactor's default


def made_masks(order, H):
    """Degree masks [D, H], [H, H], [H, 2D] of a MADE over `order` (flows/made.ts)."""
    deg_in = [0] * D
    for position, d in enumerate(order):
        deg_in[d] = position + 1
    deg_h = [0 if D == 1 else 1 + (k % (D - 1)) for k in range(H)]
    deg_out = deg_in + deg_in  # [μ | raw], each in coordinate order

    def mask(src, dst, strict):
        return torch.tensor([[float(b > a if strict else b >= a) for b in dst] for a in src])

    return mask(deg_in, deg_h, False), mask(deg_h, deg_h, False), mask(deg_h, deg_out, True)


class Maf(torch.nn.Module):
    """K MADE layers; inverse(x) -> f⁻¹(x) [N, D], log|det J_{f⁻¹}(x)| [N]."""

    def __init__(self, K, H, seed):
        super().__init__()
        rng = Rng(seed)
        mlp_parameters(self, rng, K, D, H, 2 * D, made=True)  # w1 [D, H], ..., w3 [H, 2D]
        self.K = K
        for k in range(K):
            order = list(range(D)) if k % 2 == 0 else list(reversed(range(D)))
            for i, m in enumerate(made_masks(order, H)):
                self.register_buffer(f"m{i + 1}_{k}", m)

    def shift_log_scale(self, k, v):
        """μ, α of layer k from the data side v: each [N, D]."""
        m1, m2, m3 = (getattr(self, f"m{i}_{k}") for i in (1, 2, 3))
        h1 = torch.tanh(torch.addmm(self.b1[k], v, self.w1[k] * m1))  # [N, H]
        h2 = torch.tanh(torch.addmm(self.b2[k], h1, self.w2[k] * m2))  # [N, H]
        out = torch.addmm(self.b3[k], h2, self.w3[k] * m3)  # [N, 2D]
        return out[:, :D], SCALE_FACTOR * torch.tanh(out[:, D:] / SCALE_FACTOR)

    def inverse(self, x):
        v, log_det = x, torch.zeros(x.shape[0])
        for k in reversed(range(self.K)):
            mu, alpha = self.shift_log_scale(k, v)
            v = (v - mu) * torch.exp(-alpha)
            log_det = log_det - alpha.sum(1)
        return v, log_det


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--K", type=int, default=4, help="autoregressive layers")
    ap.add_argument("--hidden", type=int, default=32, help="hidden units H of each MADE")
    add_timing_args(ap)
    a = ap.parse_args()
    check_args(ap, a, ("K", "hidden", "batch", "steps", "threads"))

    time_mle(a, lambda: Maf(a.K, a.hidden, a.seed))


if __name__ == "__main__":
    main()
