/* Whole layers for the browser tab: causal self-attention and RMSNorm, forward and backward,
   and the loss with its gradient, each in one call.

   In Pyodide, every numpy operation costs microseconds before it computes anything, and a
   layer written in numpy is ten to twenty of them on small arrays. Here each layer is one
   call on numpy's own arrays (the module imports Pyodide's memory, as gemm.c does); the maths
   is model.py's, and zcgpt/simd.py checks every array before the call:

       attention_forward   qkv (B*T, 3C) -> att (B, H, T, T) softmax weights, y (B*T, C)
       attention_backward  qkv, att, dy (B*T, C) -> dqkv (B*T, 3C); ds (T,) is scratch
       rmsnorm_forward     x (N, C) -> y (N, C), rstd (N,)
       rmsnorm_backward    dy, y (N, C), rstd (N,) -> dx (N, C)
       cross_entropy       logits (N, V), targets (N,) int64, weights (N,) -> dlogits (N, V) and
                           loss (1,), the weighted sum of -log p; returns -1, writing nothing,
                           if a target is not below V

   Arrays are C-contiguous; q, k and v of head h are columns h*D, C + h*D and 2C + h*D of
   qkv, as model.attention_forward cuts them. Every sum runs in a fixed order, so the bits
   depend on the operands alone; they are a few last bits away from numpy's (other orders, and
   exp below rather than the C library's). Each function writes only its outputs, and nothing
   uses the stack: the module has no memory of its own.

   exp: the softmax needs e^x for x <= 0. x = n ln2 + r with |r| <= ln2/2; e^r by its Taylor
   series (to r^7 in float32, r^12 in float64), times 2^n made from its bits: measured within
   1.2 ulps in float32 and 2.6 in float64 (numpy's own float32 exp: 2.4). For x <= -87 in
   float32 (-708 in float64) the result is 0; a nan stays a nan (a diverged run's loss turns
   nan and the trainer says so).

   log: the loss needs log s for a softmax's sum, s >= 1. s = f 2^e with sqrt(1/2) < f <= sqrt 2,
   and log f = 2 atanh u, u = (f - 1) / (f + 1), by its series in u^2 (to u^10 in float32, u^22
   in float64): measured within 2.8 ulps of log s in both, the rounding of u's division. */

static inline float pow2_f32(int n)        /* 2^n for -126 <= n <= 127 */
{
    union { unsigned int bits; float value; } u = { (unsigned int)(n + 127) << 23 };
    return u.value;
}

static inline double pow2_f64(int n)       /* 2^n for -1022 <= n <= 1023 */
{
    union { unsigned long long bits; double value; } u = { (unsigned long long)(n + 1023) << 52 };
    return u.value;
}

static inline float split_f32(float s, int *e)      /* s = f 2^e, 1 <= f < 2, for normal s > 0 */
{
    union { float value; unsigned int bits; } u = { s };
    *e = (int)(u.bits >> 23) - 127;
    u.bits = (u.bits & 0x7fffffu) | (127u << 23);
    return u.value;
}

static inline double split_f64(double s, int *e)
{
    union { double value; unsigned long long bits; } u = { s };
    *e = (int)(u.bits >> 52) - 1023;
    u.bits = (u.bits & 0xfffffffffffffull) | (1023ull << 52);
    return u.value;
}

#define REAL float
#define NAME(f) f##_f32
#define ROUND(x) __builtin_rintf(x)        /* wasm f32.nearest */
#define SQRT(x) __builtin_sqrtf(x)         /* wasm f32.sqrt, correctly rounded */
#define POW2(n) pow2_f32(n)
#define SPLIT(s, e) split_f32(s, e)
#define EXP_LOW (-87.0f)                   /* e^-87 is near float32's smallest normal */
#define LN2_HI 0.693145751953125f          /* ln 2 in two parts: n * LN2_HI is exact */
#define LN2_LO 1.428606765330187e-06f
#define EXP_SERIES(r) (1 + (r) * (1 + (r) * (1.0f / 2 + (r) * (1.0f / 6 + (r) * (1.0f / 24 \
    + (r) * (1.0f / 120 + (r) * (1.0f / 720 + (r) * (1.0f / 5040))))))))
#define LOG_SERIES(v) (1 + (v) * (1.0f / 3 + (v) * (1.0f / 5 + (v) * (1.0f / 7 + (v) * (1.0f / 9 \
    + (v) * (1.0f / 11))))))
#include "layers_body.h"
#undef REAL
#undef NAME
#undef ROUND
#undef SQRT
#undef POW2
#undef SPLIT
#undef EXP_LOW
#undef LN2_HI
#undef LN2_LO
#undef EXP_SERIES
#undef LOG_SERIES

#define REAL double
#define NAME(f) f##_f64
#define ROUND(x) __builtin_rint(x)
#define SQRT(x) __builtin_sqrt(x)
#define POW2(n) pow2_f64(n)
#define SPLIT(s, e) split_f64(s, e)
#define EXP_LOW (-708.0)
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define EXP_SERIES(r) (1 + (r) * (1 + (r) * (1.0 / 2 + (r) * (1.0 / 6 + (r) * (1.0 / 24 \
    + (r) * (1.0 / 120 + (r) * (1.0 / 720 + (r) * (1.0 / 5040 + (r) * (1.0 / 40320 \
    + (r) * (1.0 / 362880 + (r) * (1.0 / 3628800 + (r) * (1.0 / 39916800 \
    + (r) * (1.0 / 479001600)))))))))))))
#define LOG_SERIES(v) (1 + (v) * (1.0 / 3 + (v) * (1.0 / 5 + (v) * (1.0 / 7 + (v) * (1.0 / 9 \
    + (v) * (1.0 / 11 + (v) * (1.0 / 13 + (v) * (1.0 / 15 + (v) * (1.0 / 17 + (v) * (1.0 / 19 \
    + (v) * (1.0 / 21 + (v) * (1.0 / 23))))))))))))
#include "layers_body.h"
