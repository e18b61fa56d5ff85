"""Task-agnostic helpers: atomic files, seeding, configs, loggers, metrics, plots, trainers."""
