"""The bigram baseline: next character from the previous one alone, by smoothed counts.

A transformer that cannot beat this has learned nothing about context (makemore's sanity check).
"""

import numpy as np


def bigram_counts(items, vocab, smoothing=1.0):
    counts = np.full((vocab.size, vocab.size), smoothing)             # (prev, next)
    for item in items:
        toks = vocab.encode(item)
        np.add.at(counts, (toks[:-1], toks[1:]), 1)
    return counts / counts.sum(axis=1, keepdims=True)


def bigram_loss(train, evaluate_on, vocab, smoothing=1.0):
    """Mean NLL per predicted token (every character and EOS) of a bigram fit on train."""
    probs = bigram_counts(train, vocab, smoothing)
    total, n = 0.0, 0
    for item in evaluate_on:
        toks = vocab.encode(item)
        total -= np.log(probs[toks[:-1], toks[1:]]).sum()
        n += len(toks) - 1
    return total / n
