"""Ports of the library's seeded pieces, so that a PyTorch yardstick starts from the SAME numbers.

Not part of the library. The yardsticks in this folder (torch_*_mle.py, torch_posterior.py)
import it to draw the library's initial parameters, minibatches and base samples bit for bit
(up to float64 libm rounding), so their first losses can be checked against the library's:

- Rng: mulberry32 uniforms and Box-Muller normals of src/core/random.ts. mulberry32's state
  after i draws is s0 + i·0x6d2b79f5 (mod 2³²), so a block of draws is computed at once in numpy
  (a few µs for 8192 draws: no Python loop in the timed step).
- read_csv_columns, standardize, train_test_split: src/targets/data.ts (values read as float32,
  statistics in float64, population std, Fisher-Yates split with Rng(seed)).
- penguins_species_design: the 2-D model of src/targets/penguins.ts (Adélie 0 / Chinstrap 1 from
  the standardised bill length, with an intercept column).
- glorot, mlp_parameters: the Glorot-uniform weights of src/flows/coupling.ts and
  src/flows/made.ts, and the conditioner MLPs' parameters in the library's draw order.
- minibatches: trainMaxLikelihood's minibatch rows (src/train/mle.ts).

and the timing plumbing every yardstick shares: the common options (add_timing_args,
check_args), the standard normal log-density, the maximum-likelihood loss, and the timed Adam
loop that prints the JSON (time_training, time_mle).
"""
import csv
import json
import os
import time
import math

import numpy as np

MASK32 = 0xFFFFFFFF
GOLDEN = 0x9E3779B9  # seed scramble of Rng's constructor ...
SCRAMBLE = 0x85EBCA6B  # ... state = imul(seed ^ GOLDEN, SCRAMBLE)
STEP = 0x6D2B79F5  # mulberry32's state increment (and the state used when the scramble gives 0)
TWO_POW_32 = 4294967296.0

LOG_2PI = math.log(2 * math.pi)
ADAM_EPS = 1e-7  # tfjs's float32 epsilon, which the library's Adam uses
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "penguins.csv")


def _mix(state):
    """mulberry32's output function on uint64 arrays holding 32-bit states -> uniforms in [0, 1)."""
    t = state
    t = ((t ^ (t >> 15)) * (t | 1)) & MASK32  # Math.imul(t ^ (t >>> 15), t | 1)
    # t ^= t + imul(t ^ (t >>> 7), t | 61)
    t = t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & MASK32)) & MASK32)
    return ((t ^ (t >> 14)) & MASK32).astype(np.float64) / TWO_POW_32


class Rng:
    """src/core/random.ts's Rng: the same uniforms and normals for the same seed."""

    def __init__(self, seed):
        if not (isinstance(seed, int) and 0 <= seed <= MASK32):
            raise ValueError(f"seed must be an integer in [0, 2^32 - 1], got {seed!r}")
        self.state = (((seed ^ GOLDEN) * SCRAMBLE) & MASK32) or STEP
        self.spare = None  # the second normal of a Box-Muller pair

    def uniforms(self, n):
        """n uniforms in [0, 1), float64: [n]."""
        states = (self.state + STEP * np.arange(1, n + 1, dtype=np.uint64)) & MASK32
        self.state = (self.state + STEP * n) & MASK32
        return _mix(states)

    def uniform(self):
        return float(self.uniforms(1)[0])

    def normals(self, n):
        """n standard normals, float64 (Box-Muller pairs, cos first, sin kept as the spare): [n]."""
        head = []
        if self.spare is not None and n > 0:
            head, self.spare, n = [self.spare], None, n - 1
        pairs = (n + 1) // 2
        u = self.uniforms(2 * pairs)
        r = np.sqrt(-2 * np.log(1 - u[0::2]))  # u1 = 1 - U ∈ (0, 1]: log is finite
        angle = 2 * math.pi * u[1::2]
        both = np.stack([r * np.cos(angle), r * np.sin(angle)], 1).ravel()
        if n % 2 == 1:
            self.spare = float(both[-1])
            both = both[:-1]
        return np.concatenate([np.array(head, dtype=np.float64), both])

    def normal(self):
        return float(self.normals(1)[0])


def glorot(rng, fan_in, fan_out, made=False):
    """U(-lim, lim), lim = √(6 / (fan_in + fan_out)): a float32 tensor [fan_in, fan_out], row-major,
    drawn as coupling.ts does ((2u - 1)·lim) or, with `made`, as made.ts (-lim + 2·lim·u: the
    float64 rounding differs, so each port keeps its library's form)."""
    import torch  # here, so that the ports above need numpy only

    lim = math.sqrt(6 / (fan_in + fan_out))
    u = rng.uniforms(fan_in * fan_out)
    v = -lim + 2 * lim * u if made else (2 * u - 1) * lim
    return torch.from_numpy(v.astype(np.float32).reshape(fan_in, fan_out))


def mlp_parameters(module, rng, K, I, H, O, made=False):
    """K conditioner MLPs' parameters on `module`, as ParameterLists w1 [I, H], b1 [H], w2 [H, H],
    b2 [H] (Glorot weights, zero biases; `made`: made.ts's draw) and w3 [H, O], b3 [O] (zero: the
    flow starts at the identity), drawn in the library's order: w1 then w2 of each layer."""
    import torch

    P = torch.nn.Parameter
    lists = [torch.nn.ParameterList() for _ in range(6)]
    module.w1, module.b1, module.w2, module.b2, module.w3, module.b3 = lists
    for _ in range(K):
        module.w1.append(P(glorot(rng, I, H, made)))
        module.b1.append(P(torch.zeros(H)))
        module.w2.append(P(glorot(rng, H, H, made)))
        module.b2.append(P(torch.zeros(H)))
        module.w3.append(P(torch.zeros(H, O)))
        module.b3.append(P(torch.zeros(O)))


def read_csv_columns(path, columns, where=None, encode=None):
    """Numeric columns of a CSV as float32 [N, C]; rows filtered by `where`, text coded by `encode`."""
    where, encode = where or {}, encode or {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r and any(f.strip() for f in r)]
    header = [h.strip() for h in rows[0]]
    idx = [header.index(c) for c in columns]
    keep = [(header.index(k), {v} if isinstance(v, str) else set(v)) for k, v in where.items()]
    out = []
    for r in rows[1:]:
        if not all(r[j].strip() in allowed for j, allowed in keep):
            continue
        out.append([encode[c][r[j].strip()] if c in encode else float(r[j])
                    for c, j in zip(columns, idx)])
    return np.array(out, dtype=np.float32)


def standardize(raw, stats=None):
    """(raw - mean) / std per column, float32; mean and population std (divisor N), float64."""
    x = raw.astype(np.float64)
    if stats is None:
        mean = x.mean(0)
        stats = (mean, np.sqrt(((x - mean) ** 2).sum(0) / x.shape[0]))
    return ((x - stats[0]) / stats[1]).astype(np.float32), stats


def train_test_split(n, test_fraction=0.25, seed=0):
    """Fisher-Yates with Rng(seed); the first round(n·test_fraction) shuffled rows are the test set."""
    rng = Rng(seed)
    idx = list(range(n))
    for i in range(n - 1, 0, -1):
        j = math.floor(rng.uniform() * (i + 1))
        idx[i], idx[j] = idx[j], idx[i]
    n_test = min(n - 1, max(1, math.floor(n * test_fraction + 0.5)))  # JS Math.round
    return sorted(idx[n_test:]), sorted(idx[:n_test])


def penguins_bills(path, seed=0, test_fraction=0.25):
    """The CLI's --data rows: bill length and depth of every penguin, the training split standardised
    with its own statistics (scripts/train.ts maxLikelihoodMain): float32 [N_train, 2]."""
    raw = read_csv_columns(path, ["bill_length_mm", "bill_depth_mm"])
    train, _ = train_test_split(raw.shape[0], test_fraction, seed)
    x, _ = standardize(raw[train])
    return x


def penguins_species_design(path):
    """Design x̃ = (1, standardised bill length) [N, 2] and labels y (Chinstrap 1, Adélie 0) [N]."""
    t = read_csv_columns(
        path,
        ["bill_length_mm", "species"],
        where={"species": ["Adelie", "Chinstrap"]},
        encode={"species": {"Adelie": 0, "Chinstrap": 1}},
    )
    x, _ = standardize(t[:, :1])
    design = np.concatenate([np.ones_like(x), x], 1).astype(np.float32)
    return design, t[:, 1].astype(np.float32)


def percentile(xs, p):
    xs = sorted(xs)
    i = p / 100 * (len(xs) - 1)
    lo = math.floor(i)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (i - lo)


FIRST_LOSSES = 5  # losses of the first steps reported, to check against the library's


def timing_result(config, torch_version, step_ms, losses, warmup):
    """The yardsticks' JSON: time_per_iter_ms over the steps after `warmup`, and the losses."""
    timed = step_ms[warmup:]
    return {
        "config": config,
        "torch": torch_version,
        "time_per_iter_ms": {
            "median": percentile(timed, 50),
            "p10": percentile(timed, 10),
            "timed_steps": len(timed),
            "warmup_steps": warmup,
        },
        "first_losses": losses[:FIRST_LOSSES],
        "final_loss": losses[-1],
    }


def emit(result, path):
    """Print the result as JSON and, when a path is given, write it there too."""
    text = json.dumps(result, indent=2)
    print(text)
    if path:
        with open(path, "w") as fh:
            fh.write(text)


def timed_steps(opt, n, loss_fn):
    """n optimiser steps on loss_fn() (which draws its own batch): wall ms and loss per step."""
    step_ms, losses = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        step_ms.append(1000 * (time.perf_counter() - t0))
    return step_ms, losses


def minibatches(data, batch, seed):
    """A function drawing `batch` rows of data [N, D] as trainMaxLikelihood does (Rng(seed))."""
    rng = Rng(seed)

    def draw():
        rows = np.floor(rng.uniforms(batch) * data.shape[0]).astype(np.int64)
        return data[rows]  # [batch, D]

    return draw


def standard_normal_log_prob(z):
    """log N(z; 0, I_D) per row of z: [N, D] -> [N]."""
    return -0.5 * (z**2).sum(1) - 0.5 * z.shape[1] * LOG_2PI


def mle_loss(flow, x):
    """-mean log q(x), log q(x) = log N(f⁻¹(x); 0, I_D) + log|det J_{f⁻¹}(x)| (flow.inverse(x))."""
    z, log_det = flow.inverse(x)
    return -(standard_normal_log_prob(z) + log_det).mean()


def add_timing_args(ap, batch=128, batch_help=None, lr=5e-3):
    """The options of every timed yardstick, after its own: --batch ... --json."""
    ap.add_argument("--batch", type=int, default=batch, help=batch_help)
    ap.add_argument("--steps", type=int, default=500, help="timed steps")
    ap.add_argument("--warmup", type=int, default=50, help="steps before the timed ones")
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=DATA, help="penguins CSV (data/penguins.csv)")
    ap.add_argument("--json", help="write the results here")


def check_args(ap, a, positive, more=()):
    """ap.error unless each option in `positive` is >= 1, each (holds, need) of `more` holds and warmup >= 0."""
    if min(getattr(a, n) for n in positive) < 1 or not all(h for h, _ in more) or a.warmup < 0:
        need = ", ".join(positive) + " >= 1" + "".join(f", {n}" for _, n in more)
        ap.error(f"need {need} and warmup >= 0; got {vars(a)}")


def time_training(a, flow, loss_fn):
    """Adam (the library's ε) on loss_fn() for a.warmup + a.steps steps; prints (and writes) the JSON."""
    import torch  # here, so that the ports above need numpy only

    opt = torch.optim.Adam(flow.parameters(), lr=a.lr, eps=ADAM_EPS)
    step_ms, losses = timed_steps(opt, a.warmup + a.steps, loss_fn)
    emit(timing_result(vars(a), torch.__version__, step_ms, losses, a.warmup), a.json)


def time_mle(a, make_flow):
    """A maximum-likelihood yardstick's run: a.threads threads, the penguin bills (a.data, split
    with a.seed), the flow from make_flow(), trainMaxLikelihood's minibatches, time_training."""
    import torch

    torch.set_num_threads(a.threads)
    data = penguins_bills(a.data, a.seed)  # [N, D] float32
    flow = make_flow()
    batches = minibatches(data, a.batch, a.seed)
    time_training(a, flow, lambda: mle_loss(flow, torch.from_numpy(batches())))  # x: [batch, D]
