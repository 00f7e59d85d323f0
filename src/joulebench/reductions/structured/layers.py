"""Where the prunable structures of a BERT-layout encoder live.

Structured pruning works on the modules ``transformers`` uses for BERT and its relatives
(MiniLM, RoBERTa, ELECTRA): each encoder layer has ``attention.self.{query,key,value}``,
``attention.output.{dense,LayerNorm}``, ``intermediate.dense`` and ``output.{dense,LayerNorm}``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from joulebench.errors import UserError

#: Attribute paths of the encoder's layer list, for the BERT-layout families supported.
_LAYER_PATHS = (("bert", "encoder", "layer"), ("roberta", "encoder", "layer"), ("electra", "encoder", "layer"))


@dataclass(frozen=True)
class Geometry:
    """Sizes of the dense (unpruned) encoder.

    Attributes:
        num_layers: encoder layers.
        num_heads: attention heads per layer.
        head_size: width of one head (``hidden_size / num_heads``).
        hidden_size: model width.
        intermediate_size: FFN units per layer.
    """

    num_layers: int
    num_heads: int
    head_size: int
    hidden_size: int
    intermediate_size: int

    @property
    def params_per_head(self) -> int:
        """Parameters one head owns: its rows of Q, K, V (weights and biases) and its columns of
        the attention output projection (whose bias is shared, so it stays)."""
        return 4 * self.head_size * self.hidden_size + 3 * self.head_size

    @property
    def params_per_ffn_unit(self) -> int:
        """Parameters one FFN unit owns: its row and bias of the first dense, its column of the
        second (whose bias is shared, so it stays)."""
        return 2 * self.hidden_size + 1


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    """The encoder's list of layers.

    Raises:
        UserError: the model is not a BERT-layout encoder (e.g. DistilBERT).
    """
    for path in _LAYER_PATHS:
        node: object = model
        for name in path:
            node = getattr(node, name, None)
        if isinstance(node, nn.ModuleList) and len(node) and _is_bert_layer(node[0]):
            return node
    raise UserError(
        f"model {type(model).__name__}: structured pruning supports BERT-layout encoders "
        "(bert/roberta/electra .encoder.layer with attention.self, intermediate, output)"
    )


def _is_bert_layer(layer: nn.Module) -> bool:
    attention = getattr(layer, "attention", None)
    return (
        attention is not None and hasattr(layer, "intermediate") and hasattr(layer, "output")
        and (hasattr(attention, "self") or getattr(attention, "is_headless", False))
    )


def geometry(model: nn.Module) -> Geometry:
    """Dense sizes of ``model``'s encoder, read from its config (valid after compaction too)."""
    layers = encoder_layers(model)
    cfg = model.config
    heads = int(cfg.num_attention_heads)
    hidden = int(cfg.hidden_size)
    return Geometry(len(layers), heads, hidden // heads, hidden, int(cfg.intermediate_size))


def param_count(model: nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
