/**
 * The fast path, attached by registration: importing this module registers every kernel (flow
 * kernels for PlanarFlow, SylvesterFlow, AffineFlow, CouplingFlow and SplineCouplingFlow, the
 * one-pass directions of MaskedAutoregressiveFlow (inverse) and InverseAutoregressiveFlow
 * (forward), the one-pass direction of SplineAutoregressiveFlow per instance (nsf-ar: inverse,
 * nsf-iaf: forward), the 'energy' and 'logistic' target kernels, the fused loss ops).
 * Nothing outside src/kernels/ imports a kernel; `forwardOn`, the loss and the trainer look
 * them up (src/flows/kernel.ts, src/targets/kernel.ts, src/train/kernel.ts).
 */
import './ops';
import './planar';
import './sylvester';
import './targets';
import './affine';
import './coupling';
import './spline-coupling';
import './logistic';
import './autoregressive';
import './spline-autoregressive';
