"""Two processes publishing the same folder with atomic_dir at once (as the ranks of a DDP fit do):
each replacement happens whole and in turn, none fails."""

import multiprocessing

from matdisco.core.io import atomic_dir


def _publish(path, barrier, writer, rounds, errors):
    for round_ in range(rounds):
        barrier.wait()
        try:
            with atomic_dir(path) as out:
                (out / "writer.txt").write_text(f"{writer} {round_}\n")
        except OSError as error:
            errors.put(f"{writer} round {round_}: {error}")


def test_concurrent_writers_of_one_folder_replace_it_in_turn(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier, errors = context.Barrier(2), context.Queue()
    path, rounds = tmp_path / "models" / "ionic_additive", 100
    workers = [context.Process(target=_publish, args=(path, barrier, w, rounds, errors)) for w in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == [] and all(worker.exitcode == 0 for worker in workers)
    assert [p.name for p in path.iterdir()] == ["writer.txt"]
    assert (path / "writer.txt").read_text() in {f"{w} {rounds - 1}\n" for w in ("a", "b")}
    assert sorted(p.name for p in path.parent.iterdir()) == ["ionic_additive"]  # no staging or lock left
