"""all-MiniLM-L6-v2 sentence embeddings (int8 ONNX) behind the Embedder interface: what a
remembered fact means, to find it by meaning and not only by its words."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voiced.errors import ModelError

MAX_TOKENS = 128
"""A fact is a sentence; longer input is cut (the model was trained on up to 128)."""


class MiniLm:
    dimensions = 384

    def __init__(self, folder: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        model, vocabulary = folder / "model.onnx", folder / "tokenizer.json"
        for path in (model, vocabulary):
            if not path.is_file():
                raise ModelError(f"embedding model file not found: {path}; run `make models`")
        try:
            self._tokenizer = Tokenizer.from_file(str(vocabulary))
            self._tokenizer.enable_truncation(MAX_TOKENS)
            self._tokenizer.enable_padding()
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1  # a sentence at a time: one core is enough
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = onnxruntime.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"embedding model {folder} cannot be loaded ({exc})") from None
        self._inputs = {i.name for i in self._session.get_inputs()}

    def embed(self, texts: list[str]) -> np.ndarray:
        """One unit-length row per text (the mean of its tokens' states)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        states = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-9)).astype(np.float32)
