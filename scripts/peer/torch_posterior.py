#!/usr/bin/env python3
"""PyTorch yardstick: planar flow by reverse KL on the penguins-species logistic-regression posterior.

Not part of the library; `npm run bench -- --peer` runs it to compare speed. The same model and
step as the library's `train(new PlanarFlow({ K, seed }), penguinsSpeciesModel().target)`:

- target (src/targets/logistic.ts, src/targets/penguins.ts): θ = (intercept, slope) of
  P(Chinstrap | bill length) on the Adélie and Chinstrap rows of data/penguins.csv (standardised
  bill length, population std), t_n = 2y_n - 1:

      log p̃(θ) = Σ_n log σ(t_n x̃_nᵀθ) - ‖θ‖²/(2s²) - (D/2) log(2πs²),  s = 5 (PENGUIN_PRIOR_STD)

  as -Σ_n softplus((θA)_n) with A = -(t ⊙ x̃)ᵀ: one matmul [B, D]×[D, N] and one softplus;
- flow (src/flows/planar.ts): f(z) = z + û tanh(wᵀz + b), û = u + (ψ - wᵀu) w/‖w‖² with
  ψ = m(wᵀu) = softplus(wᵀu) - 1 + 1e-4 (the library's float32 margin) and one rounding
  correction of û, log|det J| = log|1 + ψ tanh'(·)|;
- loss = mean(log q0(z0) - Σ log|det J| - log p̃(z_K)), z0 ~ N(0, I2) (β = 1, constant lr:
  train()'s defaults); Adam (ε = 1e-7 as tfjs).

Initial parameters (PlanarFlow's Rng(seed) draws) and base samples (train()'s Rng(seed)) are the
library's own (nf_port.py), so first_losses can be compared with the library's first steps.
Needs Debian's PyTorch:

    apt-get install -y python3-torch
    /usr/bin/python3 scripts/peer/torch_posterior.py --K 16 --batch 512 --json out.json

The JSON holds time_per_iter_ms.{median,p10} over the --steps timed steps after --warmup steps,
first_losses (step 0 is the loss at the initial parameters) and final_loss.
"""
import argparse
import math

import numpy as np
import torch

from nf_port import (
    LOG_2PI,
    Rng,
    add_timing_args,
    check_args,
    penguins_species_design,
    standard_normal_log_prob,
    time_training,
)

D = 2  # θ = (intercept, slope)
PRIOR_STD = 5.0  # PENGUIN_PRIOR_STD: weakly informative on standardised features
M_MARGIN = 1e-4  # m(x) = softplus(x) - 1 + M_MARGIN > -1 also after float32 rounding
M_ZERO = math.log(math.exp(1 - M_MARGIN) - 1)  # m(M_ZERO) = 0: near-identity start
INIT_SCALE = 0.01  # scale of û at initialisation (PlanarOptions.initScale)


class LogisticPosterior:
    """log p̃(θ): [B, D] -> [B] for Bayesian logistic regression with prior N(0, s² I)."""

    def __init__(self, design, y, prior_std):
        t = 2 * y - 1  # ±1: [N]
        self.A = torch.from_numpy(-(t[:, None] * design).T.copy())  # [D, N]
        self.inv_var = 1 / prior_std**2
        self.prior_const = -(D / 2) * (LOG_2PI + 2 * math.log(prior_std))

    def __call__(self, theta):
        log_lik = -torch.nn.functional.softplus(theta @ self.A).sum(1)  # Σ_n log σ(t_n x̃_nᵀθ)
        return log_lik - 0.5 * self.inv_var * (theta**2).sum(1) + self.prior_const


class Planar(torch.nn.Module):
    """K planar layers, initialised as PlanarFlow({ K, seed }): z [N, D] -> z_K, log|det J| [N]."""

    def __init__(self, K, seed):
        super().__init__()
        rng = Rng(seed)
        w_lim = math.sqrt(2 / D)
        w = np.zeros((K, D), dtype=np.float32)
        u = np.zeros((K, D), dtype=np.float32)
        for k in range(K):  # the library's draw order: w_k (uniform), then u_k (normal)
            x = (2 * rng.uniforms(D) - 1) * w_lim  # float64, as n2 sums them
            w[k] = x
            n2 = float((x * x).sum())
            u[k] = INIT_SCALE * rng.normals(D) + M_ZERO * w[k].astype(np.float64) / n2
        self.u = torch.nn.Parameter(torch.from_numpy(u))
        self.w = torch.nn.Parameter(torch.from_numpy(w))
        self.b = torch.nn.Parameter(torch.zeros(K))

    def forward(self, z):
        wu = (self.w * self.u).sum(1, keepdim=True)  # [K, 1]
        w_norm2 = (self.w**2).sum(1, keepdim=True)  # [K, 1]
        psi = torch.nn.functional.softplus(wu) + (M_MARGIN - 1)  # wᵀû = m(wᵀu) > -1: [K, 1]
        u_hat = self.u + (psi - wu) / w_norm2 * self.w  # [K, D]
        residual = psi - (self.w * u_hat).sum(1, keepdim=True)  # [K, 1], rounding only
        u_hat = u_hat + residual / w_norm2 * self.w
        hs = []
        for w, u, b in zip(self.w.unbind(0), u_hat.unbind(0), self.b.unbind(0)):
            h = torch.tanh(torch.addmv(b, z, w))  # [N]: tanh(wᵀz + b)
            z = torch.addr(z, h, u)  # z + û h
            hs.append(h)
        log_det = torch.log(torch.abs(1 + (1 - torch.stack(hs) ** 2) * psi)).sum(0)  # [N]
        return z, log_det


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--K", type=int, default=16, help="planar layers")
    add_timing_args(ap, batch=512, batch_help="base samples per step (CLI default)", lr=1e-3)
    a = ap.parse_args()
    check_args(ap, a, ("K", "batch", "steps", "threads"))

    torch.set_num_threads(a.threads)
    log_p = LogisticPosterior(*penguins_species_design(a.data), PRIOR_STD)
    flow = Planar(a.K, a.seed)
    rng = Rng(a.seed)  # base samples, as train() draws them

    def loss_fn():
        z0 = torch.from_numpy(rng.normals(a.batch * D).astype(np.float32).reshape(a.batch, D))
        zK, log_det = flow(z0)
        return (standard_normal_log_prob(z0) - log_det - log_p(zK)).mean()

    time_training(a, flow, loss_fn)


if __name__ == "__main__":
    main()
