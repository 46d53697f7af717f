"""xoshiro128+ random numbers, drawn exactly as zeroclaw (the Rust original) draws them.

Everything random in zcgpt (initial weights, data split, batch order, sampling) comes from
this generator, so a run is reproducible bit for bit on the desktop and in the browser.
The rules (seeding, Box-Muller in float32, categorical by subtraction) are zeroclaw's,
recorded in tests/data/zeroclaw_reference.json (`prng`).
"""

import numpy as np

MASK = 0xFFFFFFFF
U32_MAX = 4294967295


class Rng:
    """xoshiro128+ seeded from a 64-bit integer (zeroclaw's rule)."""

    def __init__(self, seed: int):
        seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        lo, hi = seed & MASK, seed >> 32
        self.s = [lo ^ 0xDEADBEEF, hi ^ 0xCAFEBABE, (lo + 1) & MASK, (hi + 1) & MASK]

    def next_u32(self) -> int:
        s0, s1, s2, s3 = self.s
        r = (s0 + s3) & MASK
        t = (s1 << 9) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 11) | (s3 >> 21)) & MASK
        self.s = [s0, s1, s2, s3]
        return r

    def u32_array(self, n: int) -> np.ndarray:
        """The next n outputs as a uint32 array (same stream as n calls of next_u32)."""
        return np.array([self.next_u32() for _ in range(n)], dtype=np.uint32)

    def gauss(self, n: int, std: float = 1.0) -> np.ndarray:
        """n normal draws in float32 by Box-Muller; each draw uses two u32s (u1 then u2)."""
        u = self.u32_array(2 * n).astype(np.float32)
        f32 = np.float32
        u1 = (u[0::2] + f32(1.0)) / (f32(U32_MAX) + f32(2.0))
        u2 = u[1::2] / f32(U32_MAX)
        # ln and cos in float64, rounded once: matches zeroclaw's libm results to the bit,
        # where numpy's own float32 kernels are off by an ulp now and then.
        ln_u1 = np.log(u1.astype(np.float64)).astype(f32)
        cos_u2 = np.cos((f32(2.0 * np.pi) * u2).astype(np.float64)).astype(f32)
        r = np.sqrt(f32(-2.0) * ln_u1)
        return (f32(std) * r * cos_u2).astype(f32)

    def uniform(self) -> float:
        """A float32 in [0, 1] (u32 / (2^32 - 1))."""
        return float(np.float32(self.next_u32()) / np.float32(U32_MAX))

    def categorical(self, p) -> int:
        """Index drawn from unnormalised weights p: walk the dart down, as zeroclaw does."""
        p = np.asarray(p, dtype=np.float32)
        dart = np.float32(self.uniform()) * np.float32(p.sum(dtype=np.float32))
        for i, pi in enumerate(p):
            dart = np.float32(dart - pi)
            if dart <= 0:
                return i
        return len(p) - 1

    def randint(self, n: int) -> int:
        """Uniform integer in [0, n) (multiply-shift, no modulo bias worth caring about)."""
        return (self.next_u32() * n) >> 32

    def permutation(self, n: int) -> np.ndarray:
        """A Fisher-Yates shuffle of range(n)."""
        perm = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.randint(i + 1)
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)

    def categorical_rows(self, p) -> np.ndarray:
        """One draw per row of weights p (n, K), the same dart rule vectorised: the first index
        whose running sum reaches the dart (rounding may differ from the walk in the last bit)."""
        p = np.asarray(p, dtype=np.float32)
        cdf = np.cumsum(p, axis=1, dtype=np.float32)               # (n, K)
        u = self.u32_array(p.shape[0]).astype(np.float32) / np.float32(U32_MAX)
        dart = u * cdf[:, -1]                                      # (n,)
        idx = (cdf < dart[:, None]).sum(axis=1)
        return np.minimum(idx, p.shape[1] - 1)


GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(key: int, n: int) -> np.ndarray:
    """The first n outputs of SplitMix64 seeded with `key`: (n,) uint64. It spreads nearby keys
    (0, 1, 2, ...) into unrelated words, the seeding xoshiro's authors recommend."""
    z = np.uint64(int(key) & 0xFFFFFFFFFFFFFFFF) + np.arange(1, n + 1, dtype=np.uint64) * GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)   # array arithmetic wraps
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def mix_key(*parts: int) -> int:
    """One 64-bit key from several integers (a seed, a step, a shard...): each folded in by
    SplitMix64, so keys of nearby parts are unrelated."""
    key = 0
    for part in parts:
        key = int(splitmix64(key ^ (int(part) & 0xFFFFFFFFFFFFFFFF), 1)[0])
    return key


class Lanes:
    """xoshiro128+ run as `lanes` streams side by side on uint32 arrays: many numbers at once,
    where Rng gives one per Python call. The streams' states are SplitMix64's outputs for `key`,
    so the numbers depend on `key` only (dropout keys it by seed, step and shard)."""

    def __init__(self, key: int, lanes: int = 4096):
        words = splitmix64(key, 2 * lanes)                                   # (2 * lanes,)
        s = np.empty((4, lanes), dtype=np.uint32)
        s[0::2] = (words & np.uint64(MASK)).astype(np.uint32).reshape(2, lanes)
        s[1::2] = (words >> np.uint64(32)).astype(np.uint32).reshape(2, lanes)
        s[0, (s == 0).all(axis=0)] = 1        # an all-zero state would stay zero
        self.s = s

    def next_u32(self) -> np.ndarray:
        """One number from each stream: (lanes,) uint32, the same rule as Rng.next_u32."""
        s0, s1, s2, s3 = self.s
        r = s0 + s3
        t = s1 << np.uint32(9)
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        np.bitwise_or(s3 << np.uint32(11), s3 >> np.uint32(21), out=s3)
        return r

    def u32_array(self, n: int) -> np.ndarray:
        """The next n numbers, stream by stream in turn: (n,) uint32."""
        rounds = -(-n // self.s.shape[1])
        return np.concatenate([self.next_u32() for _ in range(rounds)])[:n]
