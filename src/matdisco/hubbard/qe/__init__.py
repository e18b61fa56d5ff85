"""Quantum ESPRESSO: input writing and editing, running and parsing of pw.x and hp.x."""
