/* One precision of gemm.c's kernel: REAL, its vector type VEC of LANES, SPLAT and NAME are
   defined by the includer. See gemm.c for what it computes and in which order. */

#define LOAD(p) (*(const VEC *)(p))
#define STORE(p, v) (*(VEC *)(p) = (v))

/* One row of C, from column n0 on: a vector of columns at a time, then one column at a time. */
static void NAME(row)(int n0, int N, int K, const REAL *a, int sak, const REAL *B, int ldb, REAL *c)
{
    int n = n0;
    for (; n + LANES <= N; n += LANES) {
        VEC s = SPLAT((REAL)0);
        for (int k = 0; k < K; k++)
            s += SPLAT(a[k * sak]) * LOAD(B + k * ldb + n);
        STORE(c + n, s);
    }
    for (; n < N; n++) {
        REAL s = 0;
        for (int k = 0; k < K; k++)
            s += a[k * sak] * B[k * ldb + n];
        c[n] = s;
    }
}

void NAME(gemm)(int M, int N, int K, const REAL *A, int sam, int sak, const REAL *B, int ldb, REAL *C)
{
    int m = 0;
    for (; m + 4 <= M; m += 4) {
        const REAL *a0 = A + m * sam, *a1 = a0 + sam, *a2 = a1 + sam, *a3 = a2 + sam;
        REAL *c0 = C + m * N, *c1 = c0 + N, *c2 = c1 + N, *c3 = c2 + N;
        int n = 0;
        /* four rows by two vectors: eight sums in flight, each still in the order of k */
        for (; n + 2 * LANES <= N; n += 2 * LANES) {
            VEC s00 = SPLAT((REAL)0), s01 = s00, s10 = s00, s11 = s00;
            VEC s20 = s00, s21 = s00, s30 = s00, s31 = s00;
            for (int k = 0; k < K; k++) {
                const REAL *b = B + k * ldb + n;
                VEC b0 = LOAD(b), b1 = LOAD(b + LANES);
                VEC x0 = SPLAT(a0[k * sak]), x1 = SPLAT(a1[k * sak]);
                VEC x2 = SPLAT(a2[k * sak]), x3 = SPLAT(a3[k * sak]);
                s00 += x0 * b0; s01 += x0 * b1;
                s10 += x1 * b0; s11 += x1 * b1;
                s20 += x2 * b0; s21 += x2 * b1;
                s30 += x3 * b0; s31 += x3 * b1;
            }
            STORE(c0 + n, s00); STORE(c0 + n + LANES, s01);
            STORE(c1 + n, s10); STORE(c1 + n + LANES, s11);
            STORE(c2 + n, s20); STORE(c2 + n + LANES, s21);
            STORE(c3 + n, s30); STORE(c3 + n + LANES, s31);
        }
        NAME(row)(n, N, K, a0, sak, B, ldb, c0);
        NAME(row)(n, N, K, a1, sak, B, ldb, c1);
        NAME(row)(n, N, K, a2, sak, B, ldb, c2);
        NAME(row)(n, N, K, a3, sak, B, ldb, c3);
    }
    for (; m < M; m++)
        NAME(row)(0, N, K, A + m * sam, sak, B, ldb, C + m * N);
}

#undef LOAD
#undef STORE
