"""The MLM objective: a head tied to the word embeddings, masks shared with the classifier."""

from __future__ import annotations

import pytest
import torch
from lottery_helpers import VOCAB, encoded_examples

from joulebench.errors import UserError
from joulebench.reductions.lottery import MaskedLmModel, MaskEnforcer, TicketMask, apply_mask, global_magnitude_mask
from joulebench.reductions.lottery.mlm import mlm_head_for, text_examples
from joulebench.reductions.lottery.targets import prunable_weights
from joulebench.training.trainer import fine_tune


def _mlm(model, seed=0):
    head, info = mlm_head_for({"config": {}}, model.bert, seed)  # a dict target: no checkpoint head
    return MaskedLmModel(model.bert, head, mask_token_id=4, special_ids=[0, 2, 3], seed=seed), info


def test_new_head_is_tied_to_the_word_embeddings_and_says_so(model):
    mlm, info = _mlm(model)
    decoder = mlm.cls.predictions.decoder
    assert decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert decoder.bias is mlm.cls.predictions.bias
    assert info["source"] == "new" and "tied" in info["decoder"] and "newly initialised" in info["note"]
    names = [n for n, _ in mlm.named_parameters()]
    assert "cls.predictions.decoder.weight" not in names  # one parameter, counted once


def test_mlm_loss_trains_embeddings_through_the_tied_decoder(model, train_cfg):
    mlm, _ = _mlm(model)
    before = model.bert.embeddings.word_embeddings.weight.detach().clone()
    out = mlm(input_ids=torch.tensor([[2, 10, 11, 12, 13, 14, 3]]), attention_mask=torch.ones(1, 7, dtype=torch.long))
    assert torch.isfinite(out.loss) and out.logits.shape[-1] == VOCAB
    fine_tune(mlm, encoded_examples(16), train_cfg, pad_id=0)
    assert not torch.equal(before, model.bert.embeddings.word_embeddings.weight)
    assert mlm.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight


def test_masking_never_touches_special_or_padding_tokens(model):
    mlm, _ = _mlm(model)
    mlm.mlm_probability = 0.9
    ids = torch.tensor([[2, 10, 11, 12, 3, 0, 0]])
    attn = torch.tensor([[1, 1, 1, 1, 1, 0, 0]])
    for _ in range(20):
        corrupted, labels = mlm.mask_tokens(ids, attn)
        assert (labels[0, [0, 4, 5, 6]] == -100).all()
        assert torch.equal(corrupted[0, [0, 4, 5, 6]], ids[0, [0, 4, 5, 6]])
        assert (labels != -100).any()


def test_an_mlm_mask_fits_the_classifier_and_stays_applied(model, train_cfg):
    mlm, _ = _mlm(model)
    assert list(prunable_weights(mlm)) == list(prunable_weights(model))  # pooler included
    mask = TicketMask(global_magnitude_mask(prunable_weights(mlm), 0.5))
    apply_mask(mlm, mask)
    fine_tune(mlm, encoded_examples(16), train_cfg, pad_id=0, after_step=MaskEnforcer(mask))
    for key, w in prunable_weights(mlm).items():
        assert int((w[~mask.masks[key]] != 0).sum()) == 0


def test_text_examples_from_a_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("one line\n\n  another line \nthird\n")
    texts = text_examples(path)
    assert [t.text_a for t in texts] == ["one line", "another line", "third"] and {t.label for t in texts} == {0}
    assert len(text_examples(path, max_examples=2)) == 2
    with pytest.raises(UserError, match="no such file"):
        text_examples(tmp_path / "missing.txt")


def test_a_checkpoint_with_an_mlm_head_keeps_its_pretrained_head(model, tmp_path):
    from transformers import BertForMaskedLM

    torch.manual_seed(3)
    saved = BertForMaskedLM(model.config)
    saved.save_pretrained(tmp_path, safe_serialization=True)
    head, info = mlm_head_for(str(tmp_path), model.bert, seed=0)
    assert info["source"] == "pretrained" and "pre-trained MLM head" in info["note"]
    assert torch.equal(head.predictions.transform.dense.weight, saved.cls.predictions.transform.dense.weight)
    assert head.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
