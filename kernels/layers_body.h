/* One precision of layers.c: REAL, NAME, ROUND, SQRT, POW2, EXP_LOW, LN2_HI, LN2_LO and
   EXP_SERIES are defined by the includer. See layers.c for the arrays and the order of sums. */

static REAL NAME(exp_nonpositive)(REAL x)
{
    if (!(x > EXP_LOW))
        return x != x ? x : (REAL)0;                      /* nan stays nan; far below: 0 */
    REAL n = ROUND(x * (REAL)1.44269504088896340736);     /* x / ln 2, to the nearest whole */
    REAL r = (x - n * LN2_HI) - n * LN2_LO;
    return EXP_SERIES(r) * POW2((int)n);
}

void NAME(attention_forward)(int B, int T, int H, int D, REAL scale, const REAL *qkv, REAL *att,
                             REAL *y)
{
    int C = H * D, row = 3 * C;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const REAL *q = qkv + b * T * row + h * D, *k = q + C, *v = q + 2 * C;
            REAL *a = att + (b * H + h) * T * T;                 /* (T, T) of this head */
            REAL *out = y + b * T * C + h * D;
            for (int i = 0; i < T; i++) {
                const REAL *qi = q + i * row;
                REAL *ai = a + i * T;
                /* scores of the keys up to i, then a softmax over them; later keys get 0 */
                REAL top = 0;
                for (int j = 0; j <= i; j++) {
                    const REAL *kj = k + j * row;
                    REAL s = 0;
                    for (int d = 0; d < D; d++)
                        s += qi[d] * kj[d];
                    s *= scale;
                    ai[j] = s;
                    if (j == 0 || s > top)
                        top = s;
                }
                REAL sum = 0;
                for (int j = 0; j <= i; j++) {
                    REAL e = NAME(exp_nonpositive)(ai[j] - top);
                    ai[j] = e;
                    sum += e;
                }
                for (int j = 0; j <= i; j++)
                    ai[j] /= sum;
                for (int j = i + 1; j < T; j++)
                    ai[j] = 0;
                /* y_i = sum over j of att_ij v_j */
                REAL *__restrict yi = out + i * C;
                for (int d = 0; d < D; d++)
                    yi[d] = 0;
                for (int j = 0; j <= i; j++) {
                    const REAL *__restrict vj = v + j * row;
                    REAL w = ai[j];
                    for (int d = 0; d < D; d++)
                        yi[d] += w * vj[d];
                }
            }
        }
}

void NAME(attention_backward)(int B, int T, int H, int D, REAL scale, const REAL *qkv,
                              const REAL *att, const REAL *dy, REAL *ds, REAL *dqkv)
{
    int C = H * D, row = 3 * C;
    for (int n = 0; n < B * T * row; n++)
        dqkv[n] = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const REAL *q = qkv + b * T * row + h * D, *k = q + C, *v = q + 2 * C;
            const REAL *a = att + (b * H + h) * T * T;
            const REAL *g = dy + b * T * C + h * D;
            REAL *dq = dqkv + b * T * row + h * D, *dk = dq + C, *dv = dq + 2 * C;
            for (int i = 0; i < T; i++) {
                const REAL *qi = q + i * row, *ai = a + i * T, *gi = g + i * C;
                /* datt_ij = dy_i . v_j; the softmax's backward: att_ij (datt_ij - sum_j datt_ij att_ij) */
                REAL dot = 0;
                for (int j = 0; j <= i; j++) {
                    const REAL *vj = v + j * row;
                    REAL s = 0;
                    for (int d = 0; d < D; d++)
                        s += gi[d] * vj[d];
                    ds[j] = s;
                    dot += s * ai[j];
                }
                for (int j = 0; j <= i; j++)
                    ds[j] = ai[j] * (ds[j] - dot) * scale;
                /* dq_i += ds_ij k_j, dk_j += ds_ij q_i, dv_j += att_ij dy_i */
                REAL *__restrict dqi = dq + i * row;
                for (int j = 0; j <= i; j++) {
                    const REAL *kj = k + j * row;
                    REAL *__restrict dkj = dk + j * row;
                    REAL *__restrict dvj = dv + j * row;
                    REAL s = ds[j], w = ai[j];
                    for (int d = 0; d < D; d++) {
                        dqi[d] += s * kj[d];
                        dkj[d] += s * qi[d];
                        dvj[d] += w * gi[d];
                    }
                }
            }
        }
}

void NAME(rmsnorm_forward)(int N, int C, REAL eps, const REAL *x, REAL *y, REAL *rstd)
{
    for (int n = 0; n < N; n++) {
        const REAL *xn = x + n * C;
        REAL *__restrict yn = y + n * C;
        REAL s = 0;
        for (int c = 0; c < C; c++)
            s += xn[c] * xn[c];
        REAL r = 1 / SQRT(s / C + eps);
        rstd[n] = r;
        for (int c = 0; c < C; c++)
            yn[c] = xn[c] * r;
    }
}

void NAME(rmsnorm_backward)(int N, int C, const REAL *dy, const REAL *y, const REAL *rstd, REAL *dx)
{
    for (int n = 0; n < N; n++) {
        const REAL *gn = dy + n * C, *yn = y + n * C;
        REAL *__restrict dn = dx + n * C;
        REAL s = 0;
        for (int c = 0; c < C; c++)
            s += gn[c] * yn[c];
        REAL m = s / C, r = rstd[n];
        for (int c = 0; c < C; c++)
            dn[c] = r * (gn[c] - yn[c] * m);
    }
}
