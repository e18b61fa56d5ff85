"""kill -9 during training or while a stage writes keeps the previous artifacts byte-identical; a rerun
succeeds and leaves no staging files or folders behind."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from matdisco.core.io import atomic_dir, atomic_write_text, tree_md5

# Trains a tiny module inside atomic_dir (as every family's train step does), printing each epoch.
TRAIN_SCRIPT = textwrap.dedent("""
    import sys, torch, pytorch_lightning as pl
    from matdisco.core.config import compose
    from matdisco.core.io import atomic_dir
    from matdisco.core.training import build_trainer, save_module

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)
        def training_step(self, batch, _):
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x), y)
        def validation_step(self, batch, _):
            x, y = batch
            self.log("val/loss", torch.nn.functional.mse_loss(self.layer(x), y))
        def on_train_epoch_end(self):
            print("epoch", flush=True)
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    data = torch.utils.data.TensorDataset(torch.randn(64, 2), torch.randn(64, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    cfg = compose(["model=ionic_additive", "trainer.max_epochs=100000", "trainer.early_stopping_patience=null",
                   "trainer.enable_progress_bar=false"])
    with atomic_dir(sys.argv[1]) as out:
        module = Tiny()
        build_trainer(cfg.trainer, loggers=[]).fit(module, loader, loader)
        save_module(out / "member_0.pt", module)
""")

# Writes one file of a stage's output folder, then waits to be killed.
STAGE_SCRIPT = textwrap.dedent("""
    import sys, time
    from matdisco.core.io import atomic_dir
    with atomic_dir(sys.argv[1]) as out:
        (out / "a.txt").write_text("new, half written")
        print("writing", flush=True)
        time.sleep(600)
""")


def _previous_artifact(tmp_path):
    folder = tmp_path / "models" / "ionic_additive"
    with atomic_dir(folder) as out:
        atomic_write_text(out / "member_0.pt", "previous weights")
        atomic_write_text(out / "summary.json", "{}")
    return folder, tree_md5(folder)


def _kill_when(script: str, folder, line: str) -> None:
    """Run ``script`` on ``folder``; SIGKILL it once it printed ``line``."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "WANDB_MODE": "disabled"},
    )
    deadline = time.monotonic() + 120
    while process.stdout.readline().strip() != line:
        assert process.poll() is None and time.monotonic() < deadline, "the script ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def _rerun_and_check(folder) -> None:
    with atomic_dir(folder) as out:
        atomic_write_text(out / "member_0.pt", "rerun weights")
    assert (folder / "member_0.pt").read_text() == "rerun weights"
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name], "staging left behind"


def test_kill_during_training_keeps_the_previous_model_and_a_rerun_cleans_up(tmp_path):
    folder, before = _previous_artifact(tmp_path)
    _kill_when(TRAIN_SCRIPT, folder, "epoch")
    assert tree_md5(folder) == before
    assert any(p.name.startswith(f".{folder.name}.") for p in folder.parent.iterdir())  # the killed run's staging
    _rerun_and_check(folder)


def test_kill_while_a_stage_writes_keeps_the_previous_output_and_a_rerun_cleans_up(tmp_path):
    folder, before = _previous_artifact(tmp_path)
    _kill_when(STAGE_SCRIPT, folder, "writing")
    assert tree_md5(folder) == before
    _rerun_and_check(folder)


def test_staging_of_a_running_process_is_kept(tmp_path):
    target = tmp_path / "out"
    live = tmp_path / f".out.{os.getppid()}.abc"
    live.mkdir()
    with atomic_dir(target) as out:
        (out / "x").write_text("x")
    assert live.exists()
