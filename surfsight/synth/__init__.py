"""The simulator: surfaces by manufacturing process, defects with exact geometry, instruments
and camera images, with exact labels (see ``docs/synth.md``)."""

from .defects import KINDS, Defect, add_defects, label_map
from .instruments import INSTRUMENT_CLASSES, INSTRUMENTS, Instrument, measure
from .processes import PRESETS, Preset
from .render import Camera, render
from .sample import LABEL_NAMES, Sample, sample
from .texture import johnson_translation, texture

__all__ = ["texture", "johnson_translation", "PRESETS", "Preset", "KINDS", "Defect", "add_defects", "label_map",
           "INSTRUMENTS", "INSTRUMENT_CLASSES", "Instrument", "measure", "Camera", "render", "sample", "Sample",
           "LABEL_NAMES"]
