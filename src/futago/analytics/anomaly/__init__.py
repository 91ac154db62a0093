"""Anomaly detectors, streaming and batch, sharing the ``Detector`` protocol.

* ``robust``: robust z-score (median and MAD), the reference;
* ``ewma``: EWMA and CUSUM control charts, recursive, for streams;
* ``pca``: multivariate PCA with Hotelling's T² and the Q statistic (SPE);
* ``forest``: Isolation Forest (scikit-learn);
* ``ensemble``: several detectors averaged on the scale of their own learned limits;
* ``likelihood``: Numenta's streaming anomaly likelihood (the NAB detector);
* ``base`` and ``conditioning``: what they share (a stream that continues across calls, thresholds learned
  from training rows, rates of change for drifting sensors and a causal rolling mean).
"""
