#!/usr/bin/env python3
"""PyTorch yardstick: the same reverse-KL training step as the library, timed with 1 thread.

Not part of the library; `npm run bench -- --peer` runs it to compare speed. It implements
targets U1-U4 of Rezende & Mohamed (2015) (U2-U4 with the normflows envelope, so that they
are normalisable), planar flows and orthogonal Sylvester flows (van den Berg et al. 2018), and
trains them with Adam on the free energy

    F = mean( log q0(z0) - sum_k log|det J_k| + U(z_K) ),   z0 ~ N(0, I2).

Formulas and reference numbers: docs/reference.md. Needs Debian's PyTorch:

    apt-get install -y python3-torch
    /usr/bin/python3 scripts/peer/torch_yardstick.py --flow planar --K 32 --iters 600 --json out.json

The JSON holds time_per_iter_ms.{median,p10}_last90pct (over the last 90% of the steps, so the
first, slow steps are left out), final_loss, and eval (ELBO, IS log Z, ESS/N, KL gap).
"""
import argparse
import json
import math
import time

import torch

D = 2  # the targets are 2-D densities
LOG_2PI = math.log(2 * math.pi)
ORTHO_TOL = 1e-6  # Björck iteration stops at ||QᵀQ - I||_F <= ORTHO_TOL ...
ORTHO_MAX_STEPS = 100  # ... or after this many steps
DIAG_BOUND = 1 - 1e-4  # r_ii = DIAG_BOUND tanh(raw): tanh is exactly ±1 in float32 for |raw| > 9
M_ZERO = math.log(math.e - 1)  # m(M_ZERO) = -1 + softplus(M_ZERO) = 0: planar starts near identity


# ---------------------------------------------------------------- targets: U(z), z: [N, 2]
def w1(z1):
    return torch.sin(2 * math.pi * z1 / 4)


def w2(z1):
    return 3 * torch.exp(-0.5 * ((z1 - 1) / 0.6) ** 2)


def w3(z1):
    return 3 * torch.sigmoid((z1 - 1) / 0.3)


def envelope(z):  # normflows' envelope ½(z1⁴ + z2⁴)/8⁴ makes U2-U4 normalisable
    return 0.5 * (z[:, 0] ** 4 + z[:, 1] ** 4) / 8**4


def neg_logsumexp2(a, b):  # -log(e^-a + e^-b), stable: never log(0)
    return -torch.logsumexp(torch.stack([-a, -b]), dim=0)


def U1(z):
    z1 = z[:, 0]
    ring = 0.5 * ((z.norm(dim=1) - 2) / 0.4) ** 2
    return ring + neg_logsumexp2(0.5 * ((z1 - 2) / 0.6) ** 2, 0.5 * ((z1 + 2) / 0.6) ** 2)


def U2(z):
    return 0.5 * ((z[:, 1] - w1(z[:, 0])) / 0.4) ** 2 + envelope(z)


def U3(z):
    z1, z2 = z[:, 0], z[:, 1]
    a = 0.5 * ((z2 - w1(z1)) / 0.35) ** 2
    b = 0.5 * ((z2 - w1(z1) + w2(z1)) / 0.35) ** 2
    return neg_logsumexp2(a, b) + envelope(z)


def U4(z):
    z1, z2 = z[:, 0], z[:, 1]
    a = 0.5 * ((z2 - w1(z1)) / 0.4) ** 2
    b = 0.5 * ((z2 - w1(z1) + w3(z1)) / 0.35) ** 2
    return neg_logsumexp2(a, b) + envelope(z)


TARGETS = {"U1": U1, "U2": U2, "U3": U3, "U4": U4}


def log_z_quadrature(U, half_width=20.0, n=1601):
    """log ∫ exp(-U) by the midpoint rule on [-half_width, half_width]², in float64."""
    h = 2 * half_width / n
    x = -half_width + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    z = torch.cartesian_prod(x, x)  # [n², 2]
    return (torch.logsumexp(-U(z), dim=0) + 2 * math.log(h)).item()


# ---------------------------------------------------------------- flows: z [N, 2] -> z', log|det J| [N]
class Planar(torch.nn.Module):
    """f(z) = z + û tanh(wᵀz + b), û = u + (m(wᵀu) - wᵀu) w/||w||², m(x) = -1 + softplus(x)."""

    def __init__(self, K, gen):
        super().__init__()
        w = torch.randn(K, D, generator=gen)
        self.w = torch.nn.Parameter(w)
        n2 = (w**2).sum(1, keepdim=True)
        self.u = torch.nn.Parameter(0.01 * torch.randn(K, D, generator=gen) + M_ZERO * w / n2)
        self.b = torch.nn.Parameter(torch.zeros(K))

    def forward(self, z):
        wu = (self.w * self.u).sum(1, keepdim=True)  # [K, 1]
        m = -1 + torch.nn.functional.softplus(wu)
        u_hat = self.u + (m - wu) * self.w / (self.w**2).sum(1, keepdim=True)  # [K, D]: wᵀû > -1
        hs = []
        for w, u, b in zip(self.w.unbind(0), u_hat.unbind(0), self.b.unbind(0)):
            h = torch.tanh(torch.addmv(b, z, w))  # [N]: tanh(wᵀz + b)
            z = torch.addr(z, h, u)  # z + û h
            hs.append(h)
        # log|det J_k| = log|1 + ûᵀ h' w|, h' = 1 - tanh², for all K layers at once
        wu_hat = (self.w * u_hat).sum(1, keepdim=True)  # [K, 1]
        log_det = torch.log(torch.abs(1 + (1 - torch.stack(hs) ** 2) * wu_hat)).sum(0)  # [N]
        return z, log_det


def orthogonalize(q_raw):
    """Q: [K, D, M] with orthonormal columns: Q ← Q(I + ½(I - QᵀQ)) from Q_raw/||Q_raw||_F."""
    eye = torch.eye(q_raw.shape[2])
    q = q_raw / q_raw.norm(dim=(1, 2), keepdim=True)
    for _ in range(ORTHO_MAX_STEPS):
        dev = eye - q.transpose(1, 2) @ q  # [K, M, M]
        if dev.norm(dim=(1, 2)).max().item() <= ORTHO_TOL:
            return q
        q = q @ (eye + 0.5 * dev)
    raise RuntimeError("Sylvester: orthogonalisation did not converge (Q_raw nearly rank-deficient)")


class Sylvester(torch.nn.Module):
    """z' = z + Q R tanh(R̃ Qᵀ z + b); log|det J| = Σ_i log|1 + r_ii r̃_ii (1 - tanh²(·)_i)|."""

    def __init__(self, K, M, gen):
        super().__init__()
        upper = torch.triu(torch.ones(M, M), diagonal=1)
        # raw [K, M, M]: strict upper triangle -> R's free entries (small: start near identity),
        # strict lower triangle, transposed -> R̃'s free entries (so R and R̃ share nothing)
        raw = 0.01 * torch.randn(K, M, M, generator=gen) * upper
        raw = raw + torch.randn(K, M, M, generator=gen) / math.sqrt(M) * upper.T
        self.register_buffer("upper", upper)
        self.q_raw = torch.nn.Parameter(torch.randn(K, D, M, generator=gen))
        self.r_raw = torch.nn.Parameter(raw)
        self.r_diag = torch.nn.Parameter(0.01 * torch.randn(K, M, generator=gen))
        self.r_tilde_diag = torch.nn.Parameter(torch.randn(K, M, generator=gen))
        self.b = torch.nn.Parameter(torch.zeros(K, M))

    def forward(self, z):
        Q = orthogonalize(self.q_raw)  # [K, D, M]
        r = DIAG_BOUND * torch.tanh(self.r_diag)  # [K, M]
        r_tilde = DIAG_BOUND * torch.tanh(self.r_tilde_diag)
        R = self.r_raw * self.upper + torch.diag_embed(r)  # [K, M, M]
        R_tilde = self.r_raw.transpose(1, 2) * self.upper + torch.diag_embed(r_tilde)
        A = Q @ R_tilde.transpose(1, 2)  # [K, D, M]: z A = rows of R̃ Qᵀ z
        B = R.transpose(1, 2) @ Q.transpose(1, 2)  # [K, M, D]: h B = rows of Q R h
        hs = []
        for a, bk, b in zip(A.unbind(0), B.unbind(0), self.b.unbind(0)):
            h = torch.tanh(torch.addmm(b, z, a))  # [N, M]
            z = torch.addmm(z, h, bk)
            hs.append(h)
        # log|det J_k| = Σ_i log|1 + r_ii r̃_ii h'_i|, for all K layers at once
        diag = (r * r_tilde)[:, None, :]  # [K, 1, M]
        log_det = torch.log(torch.abs(1 + diag * (1 - torch.stack(hs) ** 2))).sum((0, 2))  # [N]
        return z, log_det


# ---------------------------------------------------------------- training and evaluation
def free_energy_terms(flow, U, n, gen):
    """Per-sample log q_K(z_K) + U(z_K) = log q0(z0) - Σ log|det J| + U(z_K): [n]."""
    z0 = torch.randn(n, D, generator=gen)
    log_q0 = -0.5 * (z0**2).sum(1) - 0.5 * D * LOG_2PI
    zK, log_det = flow(z0)
    return log_q0 - log_det + U(zK)


def percentile(xs, p):
    xs = sorted(xs)
    i = p / 100 * (len(xs) - 1)
    lo = math.floor(i)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (i - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", choices=sorted(TARGETS), default="U1")
    ap.add_argument("--flow", choices=["planar", "sylvester"], default="planar")
    ap.add_argument("--K", type=int, default=32, help="layers")
    ap.add_argument("--M", type=int, default=2, help="Sylvester: columns of Q (1..2)")
    ap.add_argument("--iters", type=int, default=600, help="training steps")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-samples", type=int, default=100_000, help="0: no evaluation")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    if a.K < 1 or a.iters < 1 or a.batch < 1 or a.threads < 1 or not 1 <= a.M <= D:
        ap.error(f"need K, iters, batch, threads >= 1 and 1 <= M <= {D}; got {vars(a)}")

    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    U = TARGETS[a.target]
    flow = Planar(a.K, gen) if a.flow == "planar" else Sylvester(a.K, a.M, gen)
    opt = torch.optim.Adam(flow.parameters(), lr=a.lr)

    step_ms, loss = [], float("nan")
    for _ in range(a.iters):
        t0 = time.perf_counter()
        opt.zero_grad()
        F = free_energy_terms(flow, U, a.batch, gen).mean()
        F.backward()
        opt.step()
        loss = F.item()
        step_ms.append(1000 * (time.perf_counter() - t0))
    timed = step_ms[a.iters // 10 :]  # the last 90%: leave out the first, slow steps

    result = {
        "config": vars(a),
        "torch": torch.__version__,
        "time_per_iter_ms": {
            "median_last90pct": percentile(timed, 50),
            "p10_last90pct": percentile(timed, 10),
        },
        "final_loss": loss,
    }
    if a.eval_samples > 0:
        with torch.no_grad():
            f = free_energy_terms(flow, U, a.eval_samples, gen).double()  # log q - log p̃
        n = f.shape[0]
        elbo = -f.mean().item()  # E_q[log p̃ - log q] = log Z - KL(q || p)
        log_w = -f  # importance weights p̃/q
        is_log_z = (torch.logsumexp(log_w, 0) - math.log(n)).item()
        ess = (torch.exp(2 * torch.logsumexp(log_w, 0) - torch.logsumexp(2 * log_w, 0)) / n).item()
        log_z = log_z_quadrature(U)
        result["eval"] = {"elbo": elbo, "is_log_z": is_log_z, "ess_over_n": ess,
                          "log_z_quadrature": log_z, "kl_gap": log_z - elbo}
    print(json.dumps(result, indent=2))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
