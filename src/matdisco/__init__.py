"""matdisco: reproducible machine-learning pipelines for materials discovery.

Three model families share one house: ``ionic`` (ionic-liquid conductivity),
``hubbard`` (Hubbard U and V from DFPT) and ``motifs`` (a VAE of amorphous-silicon
environments). ``core`` holds what they share and knows none of them.
"""

__version__ = "0.1.0"
