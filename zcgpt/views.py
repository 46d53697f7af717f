"""The page's views of a model, mixed into zcgpt.app.App: the "See inside" panels and the
panel that writes a name one letter at a time. The numbers come from zcgpt.insight."""

import numpy as np

from . import insight
from .prng import Rng
from .reply import LIMITS, Refused, in_range, out, sentence


class Views:
    """Needs the App's model, vocab, current_step(), and its helpers passed in below."""

    def on_inspect(self, msg):
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
        step = self.current_step()
        if self.model is None or not step:
            return {"note": "Train a model (or start training) to look inside it."}
        model, vocab = self.model, self.vocab
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

    def on_write(self, msg):
        """One name written a letter at a time (the step-through panel): the first `upto`
        letters the model draws for this seed, the probabilities of the last draw and the
        attention of the position that drew it."""
        if self.model is None or not self.current_step():
            return [out("written", id=msg["id"], note="Train a model (or load one) to watch it write.")]
        prefix, upto = msg["prefix"], msg["upto"]
        t_lo, t_hi = LIMITS["temperature"]
        if self.vocab.unknown(prefix) or len(prefix) > self.model.config.block_size - 1:
            return [out("written", id=msg["id"], note="The start uses letters the model does not know,"
                                                      " or leaves it no room.")]
        if not 0 <= upto <= self.model.config.block_size or not 0 <= msg["top_k"] <= self.vocab.size:
            raise Refused(f"upto and top_k must fit the model (block {self.model.config.block_size},"
                          f" {self.vocab.size} tokens)")
        temperature = min(t_hi, max(t_lo, float(msg["temperature"])))
        letters, probs, att = insight.write_steps(self.model, self.vocab, Rng(in_range(msg["seed"], "seed")),
                                                  upto, temperature, msg["top_k"], prefix)
        return [out("written", id=msg["id"], prefix=prefix, letters=letters, itos=self.vocab.itos,
                    probs=[round(float(x), 4) for x in probs[-1]] if len(probs) else [],
                    att=att.round(3).tolist(), done=bool(letters) and letters[-1] == "",
                    step=self.current_step())]
