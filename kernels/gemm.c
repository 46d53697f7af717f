/* Matrix products for the browser tab, in WebAssembly SIMD (128-bit vectors).

   Pyodide's numpy has no BLAS and no SIMD, so its products run one multiply-add at a time.
   This kernel runs on numpy's own arrays: the module imports Pyodide's memory, and
   zcgpt/simd.py passes the arrays' addresses after checking their dtype, layout and extent.
   It reads A and B and writes only C.

       gemm_f32, gemm_f64:  C[m*N + n] = sum over k of A[m*sam + k*sak] * B[k*ldb + n]

   for m < M, n < N, with k = 0, 1, ... K-1 in turn: every output is the plain sequential sum,
   one rounded multiply and one rounded add a term (wasm floats are IEEE, and wasm SIMD has no
   fused multiply-add). So the bits depend on the operands alone, in any worker and any
   browser, and equal those of a loop over k in numpy. Vectors run along n (B's rows and C's
   are contiguous); A may be read along its rows (x @ W) or down its columns (x.T @ y).
   Strides count elements.

   Built by buildtools/kernel.py: clang --target=wasm32 -msimd128 -O3, linked by wasm-ld with
   --import-memory; no libc, no data, nothing on the stack. gemm_body.h holds the code of one
   precision. */

typedef float f32x4 __attribute__((vector_size(16), aligned(4)));
typedef double f64x2 __attribute__((vector_size(16), aligned(8)));

#define REAL float
#define VEC f32x4
#define LANES 4
#define SPLAT(x) ((VEC){(x), (x), (x), (x)})
#define NAME(f) f##_f32
#include "gemm_body.h"
#undef REAL
#undef VEC
#undef LANES
#undef SPLAT
#undef NAME

#define REAL double
#define VEC f64x2
#define LANES 2
#define SPLAT(x) ((VEC){(x), (x)})
#define NAME(f) f##_f64
#include "gemm_body.h"
