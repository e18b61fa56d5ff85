"""RestoreBestWeights keeps the weights of the best validation score; with a full sanity check
(``num_sanity_val_steps=-1``) the initial weights compete too."""

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from matdisco.core.training import RestoreBestWeights


class _Line(pl.LightningModule):
    """y = w x with w = 0 at the start; the training data pull w to 3, the validation data want w = 0."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def _loss(self, batch):
        x, y = batch
        return torch.mean((self.w * x - y) ** 2)

    def training_step(self, batch, batch_idx):
        return self._loss(batch)

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self._loss(batch), on_epoch=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.25)


@pytest.mark.parametrize("sanity_steps, initial_kept", [(-1, True), (2, False)])
def test_initial_weights_compete_only_after_a_full_sanity_check(sanity_steps, initial_kept):
    x = torch.ones(8, 1)
    train = DataLoader(TensorDataset(x, 3.0 * x), batch_size=8)
    val = DataLoader(TensorDataset(x, torch.zeros(8, 1)), batch_size=8)
    callback = RestoreBestWeights("val/loss")
    trainer = pl.Trainer(
        max_epochs=3,
        num_sanity_val_steps=sanity_steps,
        callbacks=[callback],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    module = _Line()
    trainer.fit(module, train, val)
    if initial_kept:
        assert module.w.item() == 0.0 and callback.best == 0.0
    else:  # the best of the trained epochs: the first step, w = 0.25 * 2 * 3 = 1.5
        assert module.w.item() == pytest.approx(1.5) and callback.best == pytest.approx(2.25)
