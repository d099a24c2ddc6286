"""surfsight: quality control of manufactured surfaces.

Read instrument files, measure roughness to ISO 25178-2 / ISO 21920-2, find and measure defects,
say how certain each number is, and decide conform / nonconform against a specification.
"""

from .errors import FormatError, InputError, ParameterError, SurfsightError, UnsupportedFormatError
from .io import read, write
from .surface import PointCloud, Profile, Surface

__version__ = "0.1.0"

__all__ = [
    "Surface", "Profile", "PointCloud", "read", "write",
    "SurfsightError", "FormatError", "UnsupportedFormatError", "InputError", "ParameterError",
    "__version__",
]
