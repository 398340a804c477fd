"""Statistics for learning from complaints: spikes in counts, similar texts, effects.

Pure functions over numbers and texts, with numpy/scipy/statsmodels/scikit-learn as
the optional ``learning`` extra; the services feed them from the store.
"""
