"""Engine: device choice, checkpoints, prediction, export, training and validation loops.

Import the submodules directly (`cocoseg.engine.predictor`, `cocoseg.engine.checkpoints`, ...):
this package imports nothing eagerly so that importing one piece does not load the others.
"""
