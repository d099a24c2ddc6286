"""Real labelled images: fine-tuning the model on a few labels, segmentation and its evaluation,
anomaly detection from good parts only.

Modules: :mod:`~surfsight.realdata.pairs` (PAIRS.csv, images, masks), :mod:`~surfsight.realdata.splits`
(fixed magnetic-tile and KolektorSDD splits), :mod:`~surfsight.realdata.augment`,
:mod:`~surfsight.realdata.crops` (training crops), :mod:`~surfsight.realdata.copypaste` (labelled
defects pasted onto other tiles),
:mod:`~surfsight.realdata.metrics`, :mod:`~surfsight.realdata.inputs` (images to model input and back),
:mod:`~surfsight.realdata.finetune`, :mod:`~surfsight.realdata.semisupervised` (unlabelled images
through a mean teacher), :mod:`~surfsight.realdata.segment`, :mod:`~surfsight.realdata.anomaly`.
Needs PyTorch (the ``model`` extra) for everything but pairs, splits and metrics.
"""
