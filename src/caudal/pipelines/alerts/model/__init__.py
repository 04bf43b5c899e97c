"""The stamp classifier's development, apart from the runtime path: the physics simulator
calibrated on real alerts, training, the single-pass export and the model cards.

Nothing under ``caudal.pipelines.alerts`` outside this package imports it at run time; the
runtime shares only the feature code (``stamps``, ``features``) with it.
"""
