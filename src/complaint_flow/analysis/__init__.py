"""Statistics for learning from complaints: spikes in counts, similar texts, effects.

Pure functions over numbers and texts, with numpy/scipy/scikit-learn as the
optional ``learning`` extra (``pip install "complaint-flow[learning]"``), imported
only when a statistic runs; the services feed them from the store. See
``docs/analysis.md``.
"""

from complaint_flow.analysis.effectiveness import EffectAssessment, assess_effect
from complaint_flow.analysis.learning_extra import LearningExtraMissingError
from complaint_flow.analysis.similarity import SimilarCluster, find_similar_complaints
from complaint_flow.analysis.spikes import Cusum, Ewma, Farrington, SpikeFinding, detect_spikes

__all__ = [
    "Cusum",
    "EffectAssessment",
    "Ewma",
    "Farrington",
    "LearningExtraMissingError",
    "SimilarCluster",
    "SpikeFinding",
    "assess_effect",
    "detect_spikes",
    "find_similar_complaints",
]
