"""The tests' one tiny configuration: overrides every training test starts from, so that a change to the
training defaults (patience, logger, progress bar) is made here once.

A test adds what its data and its assertion need after these; a later override of the same key wins
(``[*TRAINING, "trainer.max_epochs=8"]`` trains 8 epochs).
"""

TRAINING = (
    "trainer.max_epochs=3",
    "trainer.early_stopping_patience=null",
    "trainer.enable_progress_bar=false",
    "logger=csv",
)
# The smallest Hubbard e3nn model: scalars and l=2 features, one interaction layer, one member.
HUBBARD_MODEL = ("model.hidden_irreps=4x0e+2x2e", "model.n_layers=1", "model.training.n_members=1")
# Ionic IL-level splits small enough for a few dozen ILs.
IONIC_SPLIT = ("data.split.n_test=4", "data.split.n_folds=2")
