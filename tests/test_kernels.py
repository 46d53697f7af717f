"""zcgpt.kernels: each speed helper against the plain numpy it stands for."""

import ctypes

import numpy as np
import pytest

from zcgpt import kernels, presets
from zcgpt.data import make_dataset, parse_lines
from zcgpt.simd import Gemm, address, check_reach, sequential_product
from zcgpt.train import Trainer


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


# --- the seam for the tab's SIMD kernel (zcgpt/simd.py; the kernel itself: tests/test_simd.py) ---

def fake_kernel(dtype):
    """gemm.c's contract in Python, on CPython's own addresses: what zcgpt.simd.Gemm passes it
    (sizes, addresses and strides in elements) is all it gets."""
    dtype = np.dtype(dtype)

    def at(address, count):
        return np.frombuffer((ctypes.c_char * (count * dtype.itemsize)).from_address(address), dtype=dtype)

    def gemm(M, N, K, pa, sam, sak, pb, ldb, pc):
        size = dtype.itemsize
        a = np.lib.stride_tricks.as_strided(at(pa, (M - 1) * sam + (K - 1) * sak + 1), (M, K), (sam * size, sak * size))
        b = np.lib.stride_tricks.as_strided(at(pb, (K - 1) * ldb + N), (K, N), (ldb * size, size))
        at(pc, M * N)[:] = sequential_product(a, b).reshape(-1)
    return gemm


@pytest.fixture
def fake_gemm():
    gemm = Gemm({np.dtype(d): fake_kernel(d) for d in ("float32", "float64")}, address_limit=2 ** 64)
    kernels.use_gemm(gemm)
    yield gemm
    kernels.use_gemm(None)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_products_go_through_an_installed_kernel(fake_gemm, dtype):
    rng = np.random.default_rng(3)
    a, w, dy = (rng.normal(size=s).astype(dtype) for s in ((13, 7), (5, 7), (13, 5)))
    assert kernels.engine() == "simd"
    assert np.array_equal(kernels.dot_rows(a, w), sequential_product(a, w.T))             # x @ W.T
    assert np.array_equal(kernels.dot_rows(dy, w.T), sequential_product(dy, w))           # dy @ W, a strided view
    assert np.array_equal(kernels.transposed_product(dy, a), sequential_product(dy.T, a))  # dy.T @ x
    np.testing.assert_allclose(kernels.dot_rows(a, w), a @ w.T, rtol=1e-5)
    kernels.use_gemm(None)
    assert kernels.engine() == "numpy"


def test_gemm_refuses_operands_the_kernel_must_not_get(fake_gemm):
    f4 = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError):
        fake_gemm.product(f4, np.ones((4, 2), np.float64))
    with pytest.raises(TypeError):
        fake_gemm.product(np.ones((3, 4), np.int64), np.ones((4, 2), np.int64))
    with pytest.raises(ValueError, match="contiguous"):
        fake_gemm.product(f4, np.ones((2, 4), np.float32).T)       # B's rows 4 elements apart
    with pytest.raises(ValueError, match="contiguous"):             # one number seen as a row of 2
        fake_gemm.product(f4, np.broadcast_to(np.ones((4, 1), np.float32), (4, 2)))
    with pytest.raises(ValueError, match="strides"):
        fake_gemm.product(f4[::-1], np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="do not fit"):
        fake_gemm.product(f4, np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="matrices"):
        fake_gemm.product(np.ones(4, np.float32), np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="would reach"):
        check_reach(address(f4), 2 ** 31, 4, 2 ** 64)              # past the kernel's int indices
    with pytest.raises(ValueError, match="would reach"):
        check_reach(2 ** 32 - 8, 2, 4)                             # past wasm32's memory
    assert check_reach(2 ** 32 - 8, 1, 4) == 2 ** 32
    assert fake_gemm.product(f4, np.ones((0, 2), np.float32).reshape(4, 0)).shape == (3, 0)
    assert np.array_equal(fake_gemm.product(np.ones((3, 0), np.float32), np.ones((0, 2), np.float32)),
                          np.zeros((3, 2), np.float32))


def test_gemm_reads_a_strided_a_where_it_lies(fake_gemm):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(9, 6)).astype(np.float32)
    b = rng.normal(size=(4, 5)).astype(np.float32)
    # rows apart, columns apart, a row, a row with its columns apart
    for a in (x[::2, 1:5], x.T[1:5, ::2].T, x[:1, :4], x[:, 2:3].T[:, :4]):
        assert not a.flags.c_contiguous or a.shape[0] == 1
        assert np.array_equal(fake_gemm.product(a, b), sequential_product(a, b))
        assert np.array_equal(fake_gemm.product(a.T, b, a_transposed=True), sequential_product(a, b))
    dy = x[::2]                                                    # (5, 6), rows 12 apart
    assert np.array_equal(kernels.transposed_product(dy, x[:5]), sequential_product(dy.T, x[:5]))


def test_a_training_run_on_the_kernel_matches_numpy(fake_gemm):
    names = ["emma", "liam", "olivia", "noah", "ava", "mia", "lucas", "amelia", "ethan", "harper"] * 4
    losses = {}
    for gemm in (fake_gemm, None):
        kernels.use_gemm(gemm)
        tr = Trainer(presets["tiny"].replace(steps=15), make_dataset(parse_lines("\n".join(names), "n"), 0.2, 1), 1)
        losses[kernels.engine()] = [tr.train_step() for _ in range(15)]
    np.testing.assert_allclose(losses["simd"], losses["numpy"], rtol=1e-4)
    assert losses["simd"] != losses["numpy"]            # the kernel did compute: its own last bits
