"""Speech datasets: built-in synthetic TI46-like sets, real-data importers, front ends and
spike encoders, and the dataset file every other package reads (:mod:`scsr.data.store`).

Only numpy is imported here; scipy, lyon, h5py and matplotlib are loaded where used.
"""

from .pipeline import encode_audio, encode_wav, encoding_config
from .store import Dataset, load_dataset, save_dataset

__all__ = ["Dataset", "encode_audio", "encode_wav", "encoding_config", "load_dataset",
           "save_dataset"]
