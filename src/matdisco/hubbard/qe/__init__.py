"""Quantum ESPRESSO: input writing, running and parsing of pw.x and hp.x."""
