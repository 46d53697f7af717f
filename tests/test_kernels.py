"""zcgpt.kernels: each speed helper against the plain numpy it stands for."""

import numpy as np
import pytest

from zcgpt import kernels


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sums_and_means_over_the_last_axis(dtype):
    a = np.random.default_rng(0).normal(size=(3, 5, 7)).astype(dtype)
    for got, want in ((kernels.sum_last(a), a.sum(axis=-1, keepdims=True)),
                      (kernels.mean_last(a), a.mean(axis=-1, keepdims=True))):
        assert got.shape == (3, 5, 1) and got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-12)


def test_constants():
    assert np.array_equal(kernels.ones(4, np.float32), np.ones(4, np.float32))
    assert np.array_equal(kernels.eye(3, np.float64), np.eye(3))
    bias = kernels.causal_bias(4, np.float32)
    assert bias.dtype == np.float32
    assert np.all(bias[np.tril_indices(4)] == 0) and np.all(bias[np.triu_indices(4, k=1)] == -np.inf)
    assert kernels.causal_bias(4, np.float32) is bias                  # built once


@pytest.mark.parametrize("no_blas", [False, True])
@pytest.mark.parametrize("N", [9, kernels.LONG_LOOP + 1])                # matmul's route, einsum's
def test_transposed_product(monkeypatch, no_blas, N):
    monkeypatch.setattr(kernels, "NO_BLAS", no_blas)
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(N, 4)), rng.normal(size=(N, 6))
    np.testing.assert_allclose(kernels.transposed_product(a, b), a.T @ b, rtol=1e-12)


@pytest.mark.parametrize("no_blas", [False, True])
@pytest.mark.parametrize("K,M", [(32, 32), (33, 5), (50, 40), (5, 33), (40, 50)])  # matmul, K, K, M, M
def test_dot_rows(monkeypatch, no_blas, K, M):
    monkeypatch.setattr(kernels, "NO_BLAS", no_blas)
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(7, K)), rng.normal(size=(M, K))
    np.testing.assert_allclose(kernels.dot_rows(a, b), a @ b.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(kernels.dot_rows(a.T.copy().T, b[:, ::-1]), a @ b[:, ::-1].T, rtol=1e-12,
                               atol=1e-12)


def test_softmax_last_is_the_softmax():
    z = np.random.default_rng(2).normal(size=(4, 6)) * 5
    p, log_norm = kernels.softmax_last(z)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p, e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(log_norm[:, 0], np.log(np.exp(z).sum(axis=1)), rtol=1e-12)
