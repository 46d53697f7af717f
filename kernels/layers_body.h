/* One precision of layers.c: REAL, NAME, ROUND, SQRT, POW2, SPLIT, EXP_LOW, LN2_HI, LN2_LO,
   EXP_SERIES and LOG_SERIES are defined by the includer. See layers.c for the arrays and the order of sums. */

static REAL NAME(exp_nonpositive)(REAL x)
{
    if (!(x > EXP_LOW))
        return x != x ? x : (REAL)0;                      /* nan stays nan; far below: 0 */
    REAL n = ROUND(x * (REAL)1.44269504088896340736);     /* x / ln 2, to the nearest whole */
    REAL r = (x - n * LN2_HI) - n * LN2_LO;
    return EXP_SERIES(r) * POW2((int)n);
}

static REAL NAME(log_from_one)(REAL s)                    /* log s for s >= 1, or nan */
{
    if (!(s >= 1))
        return s != s ? s : (REAL)0 / (REAL)0;
    int e;
    REAL f = SPLIT(s, &e);                          /* s = f 2^e, 1 <= f < 2 */
    if (f > (REAL)1.41421356237309504880) {
        f /= 2;
        e += 1;
    }
    REAL u = (f - 1) / (f + 1), u2 = u * u;               /* log f = 2 atanh u, |u| <= 0.172 */
    return e * LN2_HI + (e * LN2_LO + 2 * u * LOG_SERIES(u2));
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

int NAME(cross_entropy)(int N, int V, const REAL *logits, const long long *targets, const REAL *weights,
                        REAL *dlogits, REAL *loss)
{
    for (int n = 0; n < N; n++)
        if (targets[n] < 0 || targets[n] >= V)
            return -1;                                    /* nothing written */
    REAL total = 0;
    for (int n = 0; n < N; n++) {
        const REAL *l = logits + n * V;
        REAL *__restrict g = dlogits + n * V;
        REAL top = l[0];
        for (int v = 1; v < V; v++)
            if (l[v] > top)
                top = l[v];
        REAL sum = 0;
        for (int v = 0; v < V; v++) {
            REAL e = NAME(exp_nonpositive)(l[v] - top);
            g[v] = e;
            sum += e;
        }
        int t = (int)targets[n];
        REAL w = weights[n];
        total += (top + NAME(log_from_one)(sum) - l[t]) * w;       /* -log p of the target */
        for (int v = 0; v < V; v++)
            g[v] = g[v] / sum * w;
        g[t] -= w;                                        /* (p - onehot) w */
    }
    *loss = total;
    return 0;
}
