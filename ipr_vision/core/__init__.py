"""The pure core: arrays and values in, values out.

Nothing here reads a file, opens a database or loads a model; everything is a function of its
arguments, so each piece is tested on small arrays and reused by the gallery, the training code
and the benchmarks alike. In pipeline order: :mod:`.quality` (is the photo usable),
:mod:`.index` (search), :mod:`.scoring` and :mod:`.suggest` (score, calibrate, decide),
:mod:`.heatmap` and :mod:`.alignment` (where a photo differs), :mod:`.health` and
:mod:`.metrics` (how well a gallery separates), :mod:`.splits`, :mod:`.workshop` (training
material) and :mod:`.roles` (who may do what).
"""
