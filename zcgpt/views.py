"""The page's views of a model: the "See inside" panels and the panel that writes a name one
letter at a time. The numbers come from zcgpt.insight; zcgpt.app routes "inspect" and "write"
here."""

import numpy as np

from . import insight
from .prng import Rng
from .reply import Refused, in_range, out, sentence
from .sample import SamplingError, check_sampling


class Views:
    """Views of the model in use. `model_in_use()` -> (model, vocab, step): the App's model,
    its vocabulary and the steps it has been trained (0 or a None model: nothing to show)."""

    def __init__(self, model_in_use):
        self.model_in_use = model_in_use

    def inspect(self, msg):
        """One "See inside" panel's numbers, computed between two training ticks."""
        what, rid = msg["what"], msg["id"]
        try:
            return [out("insight", what=what, id=rid, **self.insight(what, msg.get("text") or ""))]
        except Exception as exc:   # the panel says so; training and the rest of the page go on
            return [out("insight", what=what, id=rid, note=f"Could not look inside: {exc}")]

    def insight(self, what, text):
        if what == "source":
            return {"parts": insight.forward_source()}
        if what not in ("probs", "attention", "embedding"):
            raise Refused(f"there is no panel called {what!r}")
        model, vocab, step = self.model_in_use()
        if model is None or not step:
            return {"note": "Train a model (or start training) to look inside it."}
        answer = {"step": step, "itos": vocab.itos}
        if what == "embedding":
            coords, share = insight.embedding_pca(model.params["wte"])
            return {**answer, "coords": np.round(coords, 5).tolist(), "share": share.tolist()}
        try:
            tokens = insight.context_tokens(vocab, text, model.config.block_size)
        except ValueError as exc:
            return {"note": sentence(exc), "text": text}
        if what == "probs":
            return {**answer, "text": text, "probs": np.round(insight.next_token_probs(model, tokens), 4).tolist()}
        return {**answer, "text": text, "att": np.round(insight.attention_maps(model, tokens), 3).tolist()}

    def write(self, msg):
        """One name written a letter at a time (the step-through panel): the first `upto`
        letters the model draws for this seed, the probabilities of the last draw and the
        attention of the position that drew it."""
        model, vocab, step = self.model_in_use()
        if model is None or not step:
            return [out("written", id=msg["id"], note="Train a model (or load one) to watch it write.")]
        prefix, upto, block = msg["prefix"], msg["upto"], model.config.block_size
        if not 0 <= upto <= block or not 0 <= msg["top_k"] <= vocab.size:
            raise Refused(f"upto and top_k must fit the model (block {block}, {vocab.size} tokens)")
        try:
            check_sampling(vocab, block, 1, msg["temperature"], msg["top_k"], prefix)
        except SamplingError as exc:
            return [out("written", id=msg["id"], note=sentence(f"the start {exc.detail}"
                                                               if exc.arg == "prefix" else exc))]
        letters, probs, att = insight.write_steps(model, vocab, Rng(in_range(msg["seed"], "seed")),
                                                  upto, msg["temperature"], msg["top_k"], prefix)
        return [out("written", id=msg["id"], prefix=prefix, letters=letters, itos=vocab.itos,
                    probs=[round(float(x), 4) for x in probs[-1]] if len(probs) else [],
                    att=att.round(3).tolist(), done=bool(letters) and letters[-1] == "",
                    step=step)]
